// AlarmService: the alarm lifecycle at work in the daemon. It owns the
// AlarmBook (rules/) and the AlarmStore (db/) and keeps them in step: every
// transition the book returns is committed to SQLite before anything else
// hears of it (Listener), so the database is the single source that
// notifications, the API and the dashboard follow.
//
// Everything runs on one strand (the rules strand): no locks inside. Other
// threads hand work over with the Post* calls; operator actions wait for
// their result.
//
// Start-up: Start() restores the open alarms from the database. An alarm
// that was active before a crash and is raised again by the new detectors is
// the same alarm. Each car's restored alarms are reconciled once the car has
// answered for longer than its longest "sustained" threshold; those whose
// condition no longer holds are closed with a note saying they cleared while
// Liftguard was not running.
//
// Ownership: borrows the database and the clock. Thread-safety: as above.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "core/sample.h"
#include "daemon/compliance_alarm.h"
#include "db/database.h"
#include "rules/alarm_book.h"
#include "rules/finding.h"
#include "rules/rules_config.h"

namespace lg {

class AlarmService {
 public:
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;
  // Told of every committed transition, on the strand, in order.
  using Listener = std::function<void(const rules::Transition&)>;
  // For the restart reconciliation: the types a car's detectors hold raised
  // now, or nullopt if the car has not answered long enough to know.
  using Redetected = std::function<std::optional<std::vector<AlarmType>>(const std::string&)>;

  AlarmService(Strand strand, db::Database& db, const Clock& clock, const RulesConfig& site);
  ~AlarmService();

  // Runs inside the transaction that stores an update (its transitions and
  // its digest), after they are written, on the strand: the outbox messages
  // about them are enqueued there (db/outbox_store.h), so a transition and
  // its notifications commit together or not at all. An error rolls the
  // update back; it is then retried like any failed write (recoverable) or
  // dropped with it (permanent), so the hook should fail only when the
  // database does.
  using CommitHook = std::function<Status(SQLite::Database& tx, const rules::Update& u)>;

  // Restores open alarms; call once, before anything is posted.
  Status Start(Redetected redetected);
  void AddListener(Listener l);
  void SetCommitHook(CommitHook hook);  // before Start
  void SetRules(const RulesConfig& site,
                const std::vector<std::pair<std::string, RulesConfig>>& per_elevator);

  // From any thread. `latest` is the sample that produced the findings (or
  // the car's latest), used for suppression by mode.
  void PostFindings(const std::string& elevator, std::vector<rules::Finding> findings,
                    const Sample& latest);
  void PostModeChange(const std::string& elevator, const Sample& latest);

  // Closes the open alarms of elevators no longer configured (at start and
  // after a reload). Any thread. Alarms of no car carry a pseudo-key with a
  // colon as their elevator; of those, CHANNEL_DOWN's "channel:ID" is closed
  // unless listed in `configured` (list the configured channels' keys), and
  // other pseudo-keys (compliance: "person:7") are left alone.
  void RetireMissing(std::set<std::string> configured);

  // From any thread: every compliance condition that holds now (the whole
  // list, daemon/records_service.h). Raises an alarm for each one not open
  // yet (updating the message of one that is) and clears the active
  // compliance alarms no longer listed. Never suppressed.
  void PostCompliance(std::vector<ComplianceAlarm> holding);

  // On the strand: shelve expiry, digests, windows starting and ending,
  // restart reconciliation, retrying a failed write.
  void Tick();

  // Operator actions; any thread but the strand's; block until done there.
  Result<rules::Transition> Ack(rules::AlarmId id, const std::string& who, const std::string& note);
  Result<rules::Transition> Shelve(rules::AlarmId id, const std::string& who,
                                   const std::string& reason, std::chrono::minutes minutes);
  Result<int64_t> AddMaintenanceWindow(const std::string& elevator, WallTime starts, WallTime ends,
                                       const std::string& reason, const std::string& who);

  rules::AlarmCounts Counts() const;  // any thread (a copy taken on each commit)
  uint64_t write_failures() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lg
