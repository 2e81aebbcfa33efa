// Escalation: the rescue escalation chain of shared/spec/faults.md ("Rescue
// incidents") as a pure function of an incident's timeline and the time.
//
// A chain is a list of steps "after N minutes, unless the incident has
// reached step S, notify these targets" (the [[escalation]] entries of the
// configuration, copied into ChainStep by the daemon). For an incident and a
// time `now`, EvaluateEscalation says of each chain step:
//   - kWaiting:   not due yet, and its `unless` step not reached: it may still
//                 fall due (next_due_at tells when the earliest one does);
//   - kDue:       its time has come (opened_at + after_min <= now), the
//                 incident is still open, and the `unless` step had not been
//                 reached by that time: send it;
//   - kCancelled: its `unless` step was reached before it fell due, or the
//                 incident closed (closed / false_alarm) before it fell due:
//                 never sent;
//   - kOver:      it fell due while the incident was open, but the incident
//                 has closed since: nothing more to send.
// A step reached also counts as reaching the steps the incident contract
// requires before it (on_site implies accepted and dispatched; released
// implies acknowledged and on_site; ...), so a chain waiting for `accepted`
// stops when `on_site` is recorded even if `accepted` somehow was not.
//
// Nothing is decided ahead of time and nothing is remembered here: a due step
// is due on every evaluation until the incident closes. That is what makes
// restarts simple: the daemon evaluates the incident again and offers every
// due delivery to the outbox, and the outbox refuses the ones it already
// holds by their idempotency key (EscalationKey: incident, chain step,
// recipient). Call PlanEscalation when an incident opens (inside the same
// transaction), when it reaches a step, at next_due_at, and at start for every
// open incident.
//
// The incident is the rules::Incident of rules/incident.h (its recorded steps
// and their times); escalation reads it and never changes it. Its `id` must
// be the stored one: the keys are built from it.
//
// Times are civil (WallTime) as stored with the incident; no clock is read.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "rules/incident.h"
#include "rules/recipients.h"

namespace lg::rules {

// One [[escalation]] entry.
struct ChainStep {
  int after_min = 0;                   // minutes after the incident opened
  std::optional<IncidentStep> unless;  // empty: always sent
  std::vector<Target> notify;
};
using Chain = std::vector<ChainStep>;

// faults.md's default chain, following the 96333 three levels:
//   0 min: security-room, contractor:on-call;
//   3 min unless acknowledged: safety-manager (a [[contact]] id);
//   5 min unless accepted: contractor:backup, safety-manager;
//  25 min unless on_site: main-responsible.
Chain DefaultChain();

// after_min of the first step waiting for on_site (the "call 96333 / 119"
// deadline of the messages); nullopt if the chain has none.
std::optional<int> OnSiteDeadlineMin(const Chain& chain);

enum class StepState : uint8_t { kWaiting, kDue, kCancelled, kOver };
std::string_view StepStateName(StepState s);  // "waiting" | "due" | "cancelled" | "over"

struct StepStatus {
  size_t index = 0;  // in the chain
  WallTime due_at{};
  StepState state = StepState::kWaiting;
  // kCancelled: the step that cancelled it (its `unless` step, or closed /
  // false_alarm).
  std::optional<IncidentStep> cancelled_by;
};

struct EscalationStatus {
  std::vector<StepStatus> steps;        // one per chain step, in chain order
  std::vector<size_t> due;              // the indices of the kDue steps
  std::optional<WallTime> next_due_at;  // earliest due_at of a kWaiting step: the next timer
};

EscalationStatus EvaluateEscalation(const Chain& chain, const Incident& incident, WallTime now);

// "incident:7:esc:3m:acknowledged:email:safety@example.org". Built from the
// step's content (after_min, unless; "always" without one) rather than its
// position, so reordering or extending the chain on a reload does not send a
// step again. Two chain steps with the same after_min and unless are one step
// as far as a recipient is concerned: it hears once.
std::string EscalationKey(int64_t incident_id, const ChainStep& step, const Recipient& recipient);

struct EscalationDelivery {
  size_t step = 0;  // chain index
  Recipient recipient;
  std::string key;  // EscalationKey
};

// A target of a due step that reaches nobody.
struct EscalationGap {
  size_t step = 0;  // chain index
  Unresolved what;
};

struct EscalationPlan {
  EscalationStatus status;
  std::vector<EscalationDelivery> deliveries;  // for the due steps, chain order
  std::vector<EscalationGap> gaps;             // for the due steps
};

// EvaluateEscalation, and the due steps' targets resolved for an elevator
// whose contractor is `contractor` (empty: none). Deliveries already in the
// outbox come out again; their keys are how the outbox knows.
EscalationPlan PlanEscalation(const Chain& chain, const Incident& incident,
                              std::string_view contractor, const Directory& directory,
                              WallTime now);

}  // namespace lg::rules
