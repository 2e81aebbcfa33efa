// Notifier: what the daemon tells people and machines, and how it gets there
// (docs/notifications.md, docs/escalation.md). It turns
//   - committed alarm transitions and flood digests (AlarmService),
//   - rescue incidents opening and reaching steps (IncidentService),
//   - escalation steps falling due,
// into outbox messages (db/outbox_store.h), and runs the OutboxWorker that
// delivers them through the configured channels and the security room.
//
// Same transaction: OnAlarmCommit and OnIncidentCommit are the services'
// commit hooks. They run inside the SQLite transaction that stores the
// change, and enqueue there, so a change and its messages are on disk
// together or not at all. After the commit, the services' listeners call
// AlarmCommitted / IncidentCommitted, which wake the worker and move the
// escalation timers.
//
// Who hears what is rules/: PlanAlarmNotice and PlanDigest (by severity;
// chattering and flood as the AlarmBook decided; TRAPPED only through its
// incident), PlanEscalation (the chain). Where a recipient is delivered is
// RouteFor (daemon/channels.h). With an [mqtt] table, every alarm transition
// also goes to <prefix>/alarms and every incident change to
// <prefix>/incidents.
//
// Escalation: an incident is planned when it opens and at each step (in that
// transaction), when the earliest waiting step of an open incident falls due
// (Tick, its own transaction), and, for every open incident, at the first
// Tick after start-up or a reload. A due step is offered again at every
// planning; the outbox refuses the keys it holds, so no step reaches anyone
// twice, also across restarts.
//
// CHANNEL_DOWN: the worker's health reports go to NotifierDeps::on_health
// (the App raises and clears the alarm through the AlarmService, with
// "channel:ID" as its elevator). That alarm's own messages leave out routes
// through the channel it is about.
//
// Car states: with [mqtt], each car's dashboard-visible state (online, mode,
// direction, door, floor, moving, occupied) is published retained to
// <prefix>/elevators/<id>/state when it changes, at most once a second per
// car. These bypass the outbox: a state is not an event caused by a stored
// change, only the newest one matters, and at 2,000 cars writing each one
// to SQLite (synchronous=FULL) would cost the disk that alarms need. They go
// on their own MQTT connection, so they never queue ahead of an alarm; after
// a broker outage or a restart every car's current state is published again.
//
// Thread-safety: every public function may be called from any thread. The
// configuration in use is an immutable snapshot, swapped by Apply. The hooks
// run with the calling service's lock held and call neither service.
//
// Ownership: borrows the database, the clock and what NotifierDeps points
// to; they must outlive it. Owns the worker and the state publisher.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "daemon/config.h"
#include "daemon/incident_service.h"
#include "daemon/live_state.h"
#include "daemon/outbox_worker.h"
#include "db/database.h"
#include "rules/alarm_book.h"
#include "rules/escalation.h"

namespace lg {

struct NotifierDeps {
  const LiveState* state = nullptr;      // car floors for messages; MQTT car states
  IncidentService* incidents = nullptr;  // the open incidents, for the escalation timers
  // The security room: pushes one notice (a JSON object) to the dashboards
  // that may see `elevator` ("" for staff only); returns how many streams
  // took it. Must not block.
  std::function<size_t(const std::string& elevator, const std::string& notice)> security_room;
  // Channel health from the worker (CHANNEL_DOWN); on a worker thread, must
  // not block.
  std::function<void(const ChannelHealthReport&)> on_health;
};

struct NotifierOptions {
  bool deliver = true;        // false: no worker threads, no MQTT states (unit tests)
  Millis state_scan{250};     // how often car states are compared
  Millis state_period{1000};  // at most one state per car per period
};

// The rules' view of the configuration.
rules::Directory DirectoryOf(const Config& config);
rules::Chain ChainOf(const Config& config);  // rules::DefaultChain() without [[escalation]]

class Notifier {
 public:
  Notifier(db::Database& db, const Clock& clock, const Config& config, NotifierDeps deps,
           NotifierOptions options = {});
  ~Notifier();  // Stop()
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // AlarmService::SetCommitHook / AddListener.
  Status OnAlarmCommit(SQLite::Database& tx, const rules::Update& u);
  void AlarmCommitted(const rules::Transition& t);
  // IncidentService::SetCommitHook / AddListener.
  Status OnIncidentCommit(SQLite::Database& tx, const IncidentChange& c);
  void IncidentCommitted(const IncidentChange& c);

  // Starts the worker and the MQTT state publisher. Idempotent.
  void Start();
  // Stops them; deliveries in hand finish (bounded by the channels'
  // timeouts). Idempotent.
  void Stop();

  // A reloaded configuration: channels, contacts, the chain, the texts. The
  // worker is rebuilt only if [notify] changed (its counters start again).
  void Apply(const Config& config);

  // Escalation steps falling due. Call often (every sweep); cheap unless a
  // step is due.
  void Tick();

  // The alarm keys ("channel:ID") of every channel in use, the security
  // room's included: CHANNEL_DOWN alarms of other channels are retired.
  std::vector<std::string> ChannelAlarmKeys() const;

  // /metrics lines: per channel sent, failed attempts, given up, down; the
  // outbox backlog per channel; MQTT car states published.
  std::string Metrics() const;

  // Tests: one pass of every lane on the caller's thread (options.deliver false).
  int RunOnce();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace lg
