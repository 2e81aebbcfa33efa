#include "daemon/incident_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>

#include "db/alarm_store.h"
#include "db/incident_store.h"

namespace lg {

using rules::Incident;
using rules::IncidentStep;

namespace {

constexpr const char* kSystem = "system";

std::string Time(std::optional<WallTime> t) { return t ? db::FormatTime(*t) : ""; }

db::IncidentRow ToRow(const Incident& inc, WallTime updated) {
  db::IncidentRow r;
  r.id = inc.id;
  r.elevator = inc.elevator;
  r.alarm_id = inc.alarm_id;
  r.state = std::string(rules::IncidentStateName(inc.state()));
  r.step = std::string(rules::IncidentStepName(inc.latest()));
  r.opened_at = db::FormatTime(inc.opened_at());
  r.closed_at = Time(inc.closed_at());
  if (inc.eta_min) r.eta_min = *inc.eta_min;
  r.cause = inc.cause;
  r.acknowledged_target_min = inc.targets.acknowledged_min;
  r.accepted_target_min = inc.targets.accepted_min;
  r.on_site_target_min = inc.targets.on_site_min;
  r.updated_at = db::FormatTime(updated);
  for (const auto& s : inc.steps) {
    r.steps.push_back(
        {std::string(rules::IncidentStepName(s.step)), db::FormatTime(s.at), s.by, s.note});
  }
  return r;
}

// A stored incident in the rules' terms; nullopt if a row is damaged (an
// unknown step name or an unreadable time), which is logged by the caller.
std::optional<Incident> FromRow(const db::IncidentRow& r) {
  Incident inc;
  inc.id = r.id;
  inc.elevator = r.elevator;
  inc.alarm_id = r.alarm_id;
  if (r.eta_min) inc.eta_min = static_cast<int>(*r.eta_min);
  inc.cause = r.cause;
  inc.targets.acknowledged_min = static_cast<int>(r.acknowledged_target_min);
  inc.targets.accepted_min = static_cast<int>(r.accepted_target_min);
  inc.targets.on_site_min = static_cast<int>(r.on_site_target_min);
  for (const auto& s : r.steps) {
    auto step = rules::IncidentStepFromName(s.step);
    auto at = db::ParseTime(s.at);
    if (!step || !at) return std::nullopt;
    inc.steps.push_back({*step, *at, s.who, s.note});
  }
  if (!inc.Has(IncidentStep::kOpen)) return std::nullopt;
  return inc;
}

std::string TrappedNote(const std::string& subtype, const std::string& message) {
  std::string note = "TRAPPED";
  if (!subtype.empty()) note += " (" + subtype + ")";
  if (!message.empty()) note += ": " + message;
  return note;
}

}  // namespace

class IncidentService::Impl {
 public:
  Impl(db::Database& db, const Clock& clock, const rules::IncidentTargets& targets)
      : db_(db), store_(db), clock_(clock), targets_(targets) {}

  // An automatic open that is still to be stored.
  struct PendingOpen {
    std::string elevator;
    int64_t alarm_id = 0;
    WallTime raised_at{};  // the alarm's latest raise
    std::string note;
    WallTime at{};
  };

  db::Database& db_;
  db::IncidentStore store_;
  const Clock& clock_;
  std::vector<Listener> listeners_;
  CommitHook hook_;

  mutable std::mutex mu_;  // guards everything below
  rules::IncidentTargets targets_;
  std::map<int64_t, Incident> open_;  // by id
  std::deque<PendingOpen> pending_;
  std::deque<IncidentChange> changes_;  // committed, not yet told
  bool delivering_ = false;
  std::atomic<bool> any_pending_{false};
  std::atomic<uint64_t> write_failures_{0};

  const Incident* OpenForLocked(const std::string& elevator) const {
    for (const auto& [id, inc] : open_) {
      if (inc.elevator == elevator) return &inc;
    }
    return nullptr;
  }

  // Must hold mu_. Stores a new incident and queues its change.
  Result<Incident> InsertLocked(Incident inc) {
    auto id = store_.Insert(ToRow(inc, inc.opened_at()), [&](SQLite::Database& tx, int64_t id) {
      if (!hook_) return Status::Ok();
      IncidentChange c{inc, IncidentStep::kOpen};
      c.incident.id = id;
      return hook_(tx, c);
    });
    if (!id.ok()) {
      if (id.error().code != "incident_open") ++write_failures_;
      return id.error();
    }
    inc.id = *id;
    open_[inc.id] = inc;
    changes_.push_back({inc, IncidentStep::kOpen});
    spdlog::info("incident {} opened on {} by {}{}", inc.id, inc.elevator, inc.steps.front().by,
                 inc.steps.front().note.empty() ? "" : ": " + inc.steps.front().note);
    return inc;
  }

  // Must hold mu_. Whether a TRAPPED alarm raised (last) at `raised_at`
  // should open an incident now: the car has none open, and none of the
  // alarm's incidents was opened since that raise (it was handled, and
  // perhaps closed as a false alarm, while the alarm stayed active).
  Result<bool> WantsIncidentLocked(const std::string& elevator, int64_t alarm_id,
                                   WallTime raised_at, SQLite::Database& reader) {
    if (OpenForLocked(elevator)) return false;
    for (const auto& p : pending_) {
      if (p.elevator == elevator) return false;
    }
    auto mine = db::IncidentStore::ForAlarm(reader, alarm_id);
    if (!mine.ok()) return mine.error();
    for (const auto& r : *mine) {
      auto opened = db::ParseTime(r.opened_at);
      if (opened && *opened >= raised_at) return false;
    }
    return true;
  }

  // Must hold mu_. Tries each pending open once, in order.
  void FlushPendingLocked() {
    std::deque<PendingOpen> left;
    while (!pending_.empty()) {
      PendingOpen p = std::move(pending_.front());
      pending_.pop_front();
      if (OpenForLocked(p.elevator)) continue;  // opened by hand meanwhile
      auto r =
          InsertLocked(rules::NewIncident(p.elevator, p.alarm_id, kSystem, p.note, targets_, p.at));
      if (r.ok() || r.error().code == "incident_open") continue;
      if (r.error().recoverable) {
        spdlog::error("incident for TRAPPED alarm {} on {} not stored yet (will retry): {}",
                      p.alarm_id, p.elevator, r.error().message);
        left.push_back(std::move(p));
      } else {
        // Retrying would fail the same way every tick; the alarm itself is
        // stored and announced, and a restart tries again.
        spdlog::critical("incident for TRAPPED alarm {} on {} cannot be stored: {}", p.alarm_id,
                         p.elevator, r.error().message);
      }
    }
    pending_ = std::move(left);
    any_pending_ = !pending_.empty();
  }

  // Tells the listeners what is queued, one change at a time, in order,
  // without the lock. A change queued while another thread delivers is
  // delivered by that thread.
  void Deliver() {
    std::unique_lock lock(mu_);
    if (delivering_) return;
    delivering_ = true;
    while (!changes_.empty()) {
      IncidentChange c = std::move(changes_.front());
      changes_.pop_front();
      lock.unlock();
      for (const auto& l : listeners_) {
        try {
          l(c);
        } catch (const std::exception& e) {
          spdlog::error("incident listener failed: {}", e.what());
        }
      }
      lock.lock();
    }
    delivering_ = false;
  }
};

IncidentService::IncidentService(db::Database& db, const Clock& clock,
                                 const rules::IncidentTargets& targets)
    : impl_(std::make_unique<Impl>(db, clock, targets)) {}
IncidentService::~IncidentService() = default;

void IncidentService::AddListener(Listener l) { impl_->listeners_.push_back(std::move(l)); }
void IncidentService::SetCommitHook(CommitHook hook) { impl_->hook_ = std::move(hook); }

void IncidentService::SetTargets(const rules::IncidentTargets& targets) {
  std::lock_guard lock(impl_->mu_);
  impl_->targets_ = targets;
}

Status IncidentService::Start() {
  {
    std::lock_guard lock(impl_->mu_);
    auto rows = impl_->store_.LoadOpen();
    if (!rows.ok()) return rows.error();
    for (const auto& r : *rows) {
      auto inc = FromRow(r);
      if (!inc) {
        spdlog::error("incident {} in the database is damaged; left as it is", r.id);
        continue;
      }
      impl_->open_[inc->id] = std::move(*inc);
    }
    if (!impl_->open_.empty()) spdlog::info("restored {} open incidents", impl_->open_.size());

    // The daemon may have died after storing a TRAPPED alarm and before
    // storing its incident.
    SQLite::Database& h = impl_->db_.handle();
    auto alarms = db::AlarmStore::QueryAlarms(h, "", true, 1000000);
    if (!alarms.ok()) return alarms.error();
    for (auto it = alarms->rbegin(); it != alarms->rend(); ++it) {  // oldest first
      const db::AlarmRow& a = *it;
      if (a.type != "TRAPPED" || !a.active || (a.state != "unack" && a.state != "acked")) continue;
      auto raised = db::ParseTime(a.last_raised_at.empty() ? a.raised_at : a.last_raised_at);
      if (!raised) continue;
      auto wants = impl_->WantsIncidentLocked(a.elevator, a.id, *raised, h);
      if (!wants.ok()) return wants.error();
      if (!*wants) continue;
      spdlog::warn("TRAPPED alarm {} on {} has no incident; opening it now", a.id, a.elevator);
      impl_->pending_.push_back(
          {a.elevator, a.id, *raised,
           TrappedNote(a.subtype, a.message) + " (opened when Liftguard started)",
           // Measured from the raise: the passenger has waited since then.
           *raised});
    }
    impl_->FlushPendingLocked();
  }
  impl_->Deliver();
  return Status::Ok();
}

void IncidentService::OnAlarm(const rules::Transition& t) {
  using K = rules::TransitionKind;
  if (t.type != AlarmType::kTrapped) return;
  if (t.kind != K::kRaised && t.kind != K::kReraised && t.kind != K::kSuppressionEnded) return;
  // Suppressed (inspection, out of service): a technician is with the car.
  if (t.to_state != rules::AlarmState::kUnack && t.to_state != rules::AlarmState::kAcked) return;
  {
    std::lock_guard lock(impl_->mu_);
    Result<bool> wants = true;
    if (t.kind != K::kRaised) {  // a new alarm has no incidents yet
      auto reader = db::Database::OpenReader(impl_->db_.path());
      if (!reader.ok()) {
        wants = reader.error();
      } else {
        wants = impl_->WantsIncidentLocked(t.elevator, static_cast<int64_t>(t.alarm_id),
                                           t.alarm.last_raised_at, **reader);
      }
    } else {
      wants = !impl_->OpenForLocked(t.elevator) &&
              std::none_of(impl_->pending_.begin(), impl_->pending_.end(),
                           [&](const Impl::PendingOpen& p) { return p.elevator == t.elevator; });
    }
    // Unsure (the database cannot be read): open one; a duplicate is
    // refused by the store, a missed rescue is not recoverable.
    if (!wants.ok()) {
      spdlog::error("incidents of alarm {} not readable: {}", t.alarm_id, wants.error().message);
    }
    if (wants.ok() && !*wants) return;
    impl_->pending_.push_back({t.elevator, static_cast<int64_t>(t.alarm_id), t.alarm.last_raised_at,
                               TrappedNote(t.alarm.subtype, t.alarm.message), t.at});
    impl_->FlushPendingLocked();
  }
  impl_->Deliver();
}

void IncidentService::Tick() {
  if (!impl_->any_pending_) return;
  {
    std::lock_guard lock(impl_->mu_);
    impl_->FlushPendingLocked();
  }
  impl_->Deliver();
}

Result<Incident> IncidentService::Open(const std::string& elevator, const std::string& who,
                                       const std::string& note) {
  if (who.empty()) return Error::Permanent("bad_request", "an incident needs who opened it");
  Result<Incident> r = Error::Permanent("internal", "");
  {
    std::lock_guard lock(impl_->mu_);
    if (const Incident* open = impl_->OpenForLocked(elevator)) {
      return Error::Permanent("incident_open",
                              "elevator " + elevator + " has an open incident already: " +
                                  std::to_string(open->id) + "; record steps on that one");
    }
    r = impl_->InsertLocked(rules::NewIncident(elevator, std::nullopt, who, note, impl_->targets_,
                                               impl_->clock_.WallNow()));
  }
  impl_->Deliver();
  return r;
}

Result<Incident> IncidentService::RecordStep(int64_t id, IncidentStep step, const std::string& who,
                                             rules::Recorder recorder,
                                             const rules::StepDetails& details) {
  if (who.empty()) return Error::Permanent("bad_request", "a step needs who recorded it");
  Result<Incident> out = Error::Permanent("internal", "");
  {
    std::lock_guard lock(impl_->mu_);
    auto it = impl_->open_.find(id);
    if (it == impl_->open_.end()) {
      // Not open: it ended, or there is no such incident. The rules say
      // which refusal applies (a bad field before "it is closed").
      auto found = Find(id);
      if (!found.ok()) return found.error();
      if (!*found) {
        return Error::Permanent("not_found", "there is no incident " + std::to_string(id));
      }
      Status st = rules::CheckStep(**found, step, recorder, details);
      if (st)
        return Error::Permanent("out_of_order", "incident " + std::to_string(id) + " is not open");
      return st.error();
    }
    WallTime now = impl_->clock_.WallNow();
    auto next = rules::WithStep(it->second, step, who, recorder, details, now);
    if (!next.ok()) return next.error();
    db::IncidentRow row = ToRow(*next, now);
    Status st = impl_->store_.AppendStep(row, row.steps.back(), [&](SQLite::Database& tx, int64_t) {
      return impl_->hook_ ? impl_->hook_(tx, IncidentChange{*next, step}) : Status::Ok();
    });
    if (!st) {
      if (st.error().code == "database") ++impl_->write_failures_;
      return st.error();
    }
    if (next->state() == rules::IncidentState::kOpen) {
      it->second = *next;
    } else {
      impl_->open_.erase(it);
    }
    impl_->changes_.push_back({*next, step});
    spdlog::info("incident {} on {}: {} by {}{}", id, next->elevator, rules::IncidentStepName(step),
                 who, details.note.empty() ? "" : ": " + details.note);
    out = std::move(next).value();
  }
  impl_->Deliver();
  return out;
}

std::optional<Incident> IncidentService::OpenFor(const std::string& elevator) const {
  std::lock_guard lock(impl_->mu_);
  const Incident* inc = impl_->OpenForLocked(elevator);
  return inc ? std::optional<Incident>(*inc) : std::nullopt;
}

std::vector<Incident> IncidentService::OpenIncidents() const {
  std::lock_guard lock(impl_->mu_);
  std::vector<Incident> out;
  for (const auto& [id, inc] : impl_->open_) out.push_back(inc);
  return out;
}

Result<std::optional<Incident>> IncidentService::Find(int64_t id) const {
  auto reader = db::Database::OpenReader(impl_->db_.path());
  if (!reader.ok()) return reader.error();
  auto row = db::IncidentStore::Get(**reader, id);
  if (!row.ok()) return row.error();
  if (!*row) return std::optional<Incident>();
  auto inc = FromRow(**row);
  if (!inc) {
    return Error::Permanent("database",
                            "incident " + std::to_string(id) + " in the database is damaged");
  }
  return std::optional<Incident>(std::move(*inc));
}

Result<std::vector<Incident>> IncidentService::List(const std::string& elevator, bool open_only,
                                                    int limit) const {
  auto reader = db::Database::OpenReader(impl_->db_.path());
  if (!reader.ok()) return reader.error();
  auto rows = db::IncidentStore::Query(**reader, elevator, open_only, limit);
  if (!rows.ok()) return rows.error();
  std::vector<Incident> out;
  for (const auto& r : *rows) {
    auto inc = FromRow(r);
    if (!inc) {
      spdlog::error("incident {} in the database is damaged; not listed", r.id);
      continue;
    }
    out.push_back(std::move(*inc));
  }
  return out;
}

uint64_t IncidentService::write_failures() const { return impl_->write_failures_; }

}  // namespace lg
