// NotifyPolicy: who hears of an alarm that is not a rescue incident, by
// severity, through the same targets as the escalation chain
// (rules/recipients.h).
//
// The chattering and flood rules of shared/spec/faults.md are already decided
// by the AlarmBook: each Transition carries `notify` (now, digest, chatter,
// none) and, during a flood, OnTime hands out a Digest every flood_digest_s.
// This module follows those decisions and never makes its own:
//   - Notify::kNow: one message per recipient of the alarm's severity, at once
//     (critical alarms are always kNow, one by one, even in a flood);
//   - Notify::kDigest: nothing now; the transition comes back in a Digest;
//   - Notify::kSuppressedByChatter / kNone: nothing.
// TRAPPED is the exception: a TRAPPED alarm opens a rescue incident, and the
// incident's escalation chain is its notification (faults.md's default chain
// starts with the security room and the on-call contractor at once), so
// PlanAlarmNotice returns nothing for it.
//
// Default targets by severity (core/alarm_type.h has critical, major, minor;
// there is no "warning"):
//   critical: security-room, contractor:on-call, the safety manager contact(s)
//   major:    security-room, the safety manager contact(s)
//   minor:    security-room
// Compliance alarms (records: maintenance, inspections, certificates,
// drills) are reminders for the people who answer for the records, whatever
// their severity: security-room and the safety manager contact(s); for
// MAINTENANCE_OVERDUE also contractor:on-call, who does the servicing.
// The safety manager contacts are the [[contact]]s whose id is
// `safety-manager` or starts with `safety-manager-`; with none, the
// `safety-manager` target is kept and reported as Unresolved every time,
// rather than dropped in silence.
//
// Idempotency keys: "alarm:ID:rREVISION:RECIPIENT" per transition and
// recipient ((alarm id, revision) identifies a transition), and
// "digest:ID.rREVISION:RECIPIENT" per digest and recipient (a digest is named
// by its first item: no item is in two digests).
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/alarm_type.h"
#include "rules/alarm_book.h"
#include "rules/recipients.h"

namespace lg::rules {

struct SeverityRoutes {
  std::vector<Target> critical;
  std::vector<Target> major;
  std::vector<Target> minor;
  std::vector<Target> records;      // compliance alarms
  std::vector<Target> maintenance;  // MAINTENANCE_OVERDUE
  const std::vector<Target>& For(Severity s) const;
  const std::vector<Target>& For(AlarmType t, Severity s) const;
};

// The default mapping above, with the directory's safety manager contacts.
SeverityRoutes DefaultSeverityRoutes(const Directory& directory);

// Alarm types whose notification is a rescue incident's escalation: TRAPPED.
bool NotifiedByEscalation(AlarmType t);

std::string AlarmNoticeKey(const Transition& t, const Recipient& recipient);

struct AlarmDelivery {
  Recipient recipient;
  std::string key;  // AlarmNoticeKey
};

struct AlarmNotice {
  std::vector<AlarmDelivery> deliveries;  // empty unless t.notify is kNow
  std::vector<Unresolved> unresolved;
};

// `contractor`: the [[elevator]].contractor of t.elevator (empty: none).
AlarmNotice PlanAlarmNotice(const Transition& t, std::string_view contractor,
                            const SeverityRoutes& routes, const Directory& directory);

// One recipient's digest: the items routed to it, by index into Digest::items
// (a contractor hears only of its own cars when a route names it).
struct DigestDelivery {
  Recipient recipient;
  std::string key;  // DigestKey
  std::vector<size_t> items;
};

struct DigestNotice {
  std::vector<DigestDelivery> deliveries;
  std::vector<Unresolved> unresolved;  // each target and reason once
};

std::string DigestKey(const Digest& d, const Recipient& recipient);

// The [[elevator]].contractor of a car (empty: none).
using ContractorOf = std::function<std::string(const std::string& elevator)>;

// Items of types NotifiedByEscalation are left out (they are never digested
// by the AlarmBook anyway, being critical). An empty digest gives nothing.
DigestNotice PlanDigest(const Digest& d, const ContractorOf& contractor_of,
                        const SeverityRoutes& routes, const Directory& directory);

}  // namespace lg::rules
