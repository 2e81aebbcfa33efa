// IncidentService: rescue incidents at work in the daemon (docs/incidents.md).
// It keeps the open incidents, checks every step against rules/incident.h,
// stores it (db/incident_store.h, one transaction per step) and only then
// tells its listeners, in commit order: the SSE stream now, notifications
// and escalation later (AddListener).
//
// Incidents open three ways:
//   - OnAlarm (an AlarmService listener): a TRAPPED alarm that is raised,
//     raised again, or no longer suppressed, while the car has no open
//     incident, opens one by "system" with the alarm linked. A car with an
//     open incident gets nothing new. A write that fails is retried by Tick.
//   - Open: by hand (the security room took a call on the car intercom).
//   - Start: an active TRAPPED alarm with no open incident for its car and
//     no incident since its latest raise (the daemon died between storing
//     the alarm and storing the incident) gets one.
// Each opens with `open` and the automatic `dispatched` in one transaction.
//
// Thread-safety: every method may be called from any thread; one mutex
// serialises the changes, and a change holds it while it writes (one
// SQLite transaction), so a caller may wait for one write at most. Call
// AddListener and Start before other threads use the service. Listeners
// run on the thread that made a change (the rules strand for OnAlarm and
// Tick, an HTTP worker for Open and RecordStep), one change at a time and
// in commit order, without the lock held; they must be quick (queue work,
// do not send mail) and may call the read methods.
//
// Ownership: borrows the database and the clock; they must outlive it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "db/database.h"
#include "rules/alarm_book.h"
#include "rules/incident.h"

namespace lg {

// One committed change of an incident.
struct IncidentChange {
  rules::Incident incident;  // after the change
  // The step just recorded; kOpen for a new incident (its `dispatched` was
  // recorded with it, at the same time).
  rules::IncidentStep step = rules::IncidentStep::kOpen;
};

class IncidentService {
 public:
  using Listener = std::function<void(const IncidentChange&)>;

  // `targets` apply to incidents opened from now on (SetTargets for a reload).
  IncidentService(db::Database& db, const Clock& clock, const rules::IncidentTargets& targets);
  ~IncidentService();

  void AddListener(Listener l);
  // Runs inside the transaction that stores a change (a new incident, with
  // its id, or a step), after the rows are written: the outbox messages
  // about it are enqueued there, so the change and its notifications commit
  // together. An error rolls the change back (the caller sees "database").
  // It runs with the service's lock held: it must not call the service.
  // Set before Start.
  using CommitHook = std::function<Status(SQLite::Database& tx, const IncidentChange& c)>;
  void SetCommitHook(CommitHook hook);
  // Restores the open incidents, then opens those missing for active
  // TRAPPED alarms. Call once, after AlarmService::Start.
  Status Start();
  void SetTargets(const rules::IncidentTargets& targets);

  // Register as an AlarmService listener: [&](auto& t) { svc.OnAlarm(t); }.
  void OnAlarm(const rules::Transition& t);
  // Retries automatic opens whose write failed. Cheap when there are none.
  void Tick();

  // By hand. Refused with code "incident_open" if the car has an open
  // incident (the message names it; OpenFor gives it), or "database".
  Result<rules::Incident> Open(const std::string& elevator, const std::string& who,
                               const std::string& note);
  // Refused with the codes of rules::CheckStep, "not_found", or "database"
  // (recoverable: nothing was stored).
  Result<rules::Incident> RecordStep(int64_t id, rules::IncidentStep step, const std::string& who,
                                     rules::Recorder recorder, const rules::StepDetails& details);

  // The open incident of a car, if any (from memory).
  std::optional<rules::Incident> OpenFor(const std::string& elevator) const;
  std::vector<rules::Incident> OpenIncidents() const;  // by id
  // From the database (a read-only connection of its own), any state.
  Result<std::optional<rules::Incident>> Find(int64_t id) const;
  // Newest first; `elevator` "" for every car.
  Result<std::vector<rules::Incident>> List(const std::string& elevator, bool open_only,
                                            int limit) const;

  uint64_t write_failures() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lg
