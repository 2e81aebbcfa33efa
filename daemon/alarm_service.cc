#include "daemon/alarm_service.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <set>

#include "db/alarm_store.h"
#include "rules/detector.h"

namespace lg {

namespace asio = boost::asio;
using rules::Alarm;
using rules::AlarmBook;
using rules::Transition;

namespace {

std::string Time(const std::optional<WallTime>& t) { return t ? db::FormatTime(*t) : ""; }
std::optional<WallTime> Time(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return db::ParseTime(s);
}

db::AlarmRow ToRow(const Alarm& a) {
  db::AlarmRow r;
  r.id = static_cast<int64_t>(a.id);
  r.elevator = a.elevator;
  r.type = std::string(AlarmTypeName(a.type));
  r.severity = std::string(SeverityName(a.severity));
  r.subtype = a.subtype;
  r.message = a.message;
  r.state = std::string(rules::AlarmStateName(a.state));
  r.active = a.active;
  r.acked = a.acked;
  r.raised_at = db::FormatTime(a.raised_at);
  r.last_raised_at = db::FormatTime(a.last_raised_at);
  r.cleared_at = Time(a.cleared_at);
  r.acked_at = Time(a.acked_at);
  r.acked_by = a.acked_by;
  r.ack_note = a.ack_note;
  r.closed_at = Time(a.closed_at);
  if (a.suppressed_by) r.suppressed_by = std::string(rules::SuppressionCauseName(*a.suppressed_by));
  if (a.shelve) {
    r.shelved_by = a.shelve->by;
    r.shelve_reason = a.shelve->reason;
    r.shelved_at = db::FormatTime(a.shelve->at);
    r.shelved_until = db::FormatTime(a.shelve->until);
  }
  r.chattering = a.chattering;
  r.raise_count = a.raise_count;
  r.revision = static_cast<int64_t>(a.revision);
  r.updated_at = db::FormatTime(a.updated_at);
  return r;
}

// A stored row back into the book's terms; nullopt if the row is damaged.
std::optional<Alarm> FromRow(const db::AlarmRow& r) {
  Alarm a;
  auto type = AlarmTypeFromName(r.type);
  auto sev = SeverityFromName(r.severity);
  auto state = rules::AlarmStateFromName(r.state);
  auto raised = db::ParseTime(r.raised_at);
  if (!type || !sev || !state || !raised) return std::nullopt;
  a.id = static_cast<rules::AlarmId>(r.id);
  a.elevator = r.elevator;
  a.type = *type;
  a.severity = *sev;
  a.subtype = r.subtype;
  a.message = r.message;
  a.state = *state;
  a.active = r.active;
  a.acked = r.acked;
  a.raised_at = *raised;
  a.last_raised_at = Time(r.last_raised_at).value_or(*raised);
  a.cleared_at = Time(r.cleared_at);
  a.acked_at = Time(r.acked_at);
  a.acked_by = r.acked_by;
  a.ack_note = r.ack_note;
  a.closed_at = Time(r.closed_at);
  if (!r.suppressed_by.empty()) a.suppressed_by = rules::SuppressionCauseFromName(r.suppressed_by);
  if (!r.shelved_by.empty()) {
    rules::ShelveInfo s;
    s.by = r.shelved_by;
    s.reason = r.shelve_reason;
    s.at = Time(r.shelved_at).value_or(*raised);
    s.until = Time(r.shelved_until).value_or(*raised);
    a.shelve = s;
  }
  a.chattering = r.chattering;
  a.raise_count = static_cast<uint32_t>(r.raise_count);
  a.revision = static_cast<uint64_t>(r.revision);
  a.updated_at = Time(r.updated_at).value_or(*raised);
  return a;
}

db::HistoryRow ToHistory(const Transition& t) {
  db::HistoryRow h;
  h.alarm_id = static_cast<int64_t>(t.alarm_id);
  h.revision = static_cast<int64_t>(t.alarm.revision);
  h.at = db::FormatTime(t.at);
  if (t.from_state) h.from_state = std::string(rules::AlarmStateName(*t.from_state));
  h.to_state = std::string(rules::AlarmStateName(t.to_state));
  h.kind = std::string(rules::TransitionKindName(t.kind));
  h.who = t.who;
  h.note = t.note;
  h.notify = std::string(rules::NotifyName(t.notify));
  return h;
}

}  // namespace

class AlarmService::Impl {
 public:
  Impl(Strand strand, db::Database& db, const Clock& clock, const RulesConfig& site)
      : strand_(strand), store_(db), clock_(clock), book_(site) {}

  Status Start(Redetected redetected) {
    redetected_ = std::move(redetected);
    auto loaded = store_.LoadRestore();
    if (!loaded.ok()) return loaded.error();
    AlarmBook::RestoreData data;
    data.max_id = static_cast<rules::AlarmId>(loaded->max_id);
    std::map<int64_t, Alarm> by_id;
    for (const auto& row : loaded->open) {
      auto a = FromRow(row);
      if (!a) {
        spdlog::error("alarm {} in the database is damaged; left as it is", row.id);
        continue;
      }
      by_id[row.id] = *a;
      data.open.push_back(std::move(*a));
    }
    for (const auto& h : loaded->undigested) {
      auto it = by_id.find(h.alarm_id);
      if (it == by_id.end()) continue;  // closed since: nothing left to say
      Transition t;
      t.alarm_id = it->second.id;
      t.elevator = it->second.elevator;
      t.type = it->second.type;
      t.from_state = rules::AlarmStateFromName(h.from_state);
      t.to_state = rules::AlarmStateFromName(h.to_state).value_or(it->second.state);
      t.kind = rules::TransitionKindFromName(h.kind).value_or(rules::TransitionKind::kRaised);
      t.at = db::ParseTime(h.at).value_or(it->second.updated_at);
      t.who = h.who;
      t.note = h.note;
      t.notify = rules::Notify::kDigest;
      t.alarm = it->second;
      t.alarm.revision = static_cast<uint64_t>(h.revision);
      data.undigested.push_back(std::move(t));
    }
    size_t n = data.open.size();
    if (Status st = book_.Restore(std::move(data)); !st) return st;
    if (n > 0) spdlog::info("restored {} open alarms", n);
    PublishCounts();
    return Status::Ok();
  }

  // Commits `u` (and anything still unwritten before it), then tells the
  // listeners. On a failed write nothing is told; the batch is retried at
  // the next tick, in order.
  void Commit(rules::Update u) {
    if (u.transitions.empty() && !u.digest) return;
    unwritten_.push_back(std::move(u));
    Flush();
  }

  void Flush() {
    while (!unwritten_.empty()) {
      const rules::Update& u = unwritten_.front();
      std::vector<db::AlarmRow> rows;
      std::vector<db::HistoryRow> history;
      std::vector<std::pair<int64_t, int64_t>> digested;
      for (const auto& t : u.transitions) {
        rows.push_back(ToRow(t.alarm));
        history.push_back(ToHistory(t));
      }
      if (u.digest) {
        for (const auto& t : u.digest->items) {
          digested.emplace_back(static_cast<int64_t>(t.alarm_id),
                                static_cast<int64_t>(t.alarm.revision));
        }
      }
      Status st = store_.Apply(rows, history, digested, [&](SQLite::Database& tx) {
        return hook_ ? hook_(tx, u) : Status::Ok();
      });
      if (!st && st.error().recoverable) {
        ++write_failures_;
        spdlog::error("alarm transitions not stored yet (will retry): {}", st.error().message);
        return;
      }
      if (!st) {
        // Retrying would hold up every transition behind this one forever.
        ++write_failures_;
        spdlog::critical("alarm transitions could not be stored and are dropped: {}",
                         st.error().message);
        unwritten_.pop_front();
        continue;
      }
      for (const auto& t : u.transitions) {
        spdlog::info("alarm {} {} {}: {} -> {} ({}){}", t.alarm_id, t.elevator,
                     AlarmTypeName(t.type),
                     t.from_state ? rules::AlarmStateName(*t.from_state) : "-",
                     rules::AlarmStateName(t.to_state), rules::TransitionKindName(t.kind),
                     t.note.empty() ? "" : ": " + t.note);
        for (const auto& l : listeners_) l(t);
      }
      unwritten_.pop_front();
    }
    PublishCounts();
  }

  std::optional<SuppressionCause> Cause(const std::string& elevator, AlarmType t,
                                        const Sample& latest) {
    return rules::SuppressionFor(t, latest, InWindow(elevator));
  }

  bool InWindow(const std::string& elevator) const {
    WallTime now = clock_.WallNow();
    for (const auto& w : windows_) {
      if (w.elevator == elevator && w.starts <= now && now < w.ends) return true;
    }
    return false;
  }

  void OnFindings(const std::string& elevator, const std::vector<rules::Finding>& findings,
                  const Sample& latest) {
    latest_[elevator] = latest;
    for (const auto& f : findings) {
      Commit(book_.OnFinding(elevator, f, Cause(elevator, f.type, latest)));
    }
  }

  void OnSuppressionMaybeChanged(const std::string& elevator) {
    // A car with no finding or mode change since the start has no sample
    // here; its mode then suppresses nothing, but a window still may.
    static const Sample kNoSample;
    auto it = latest_.find(elevator);
    const Sample& s = it == latest_.end() ? kNoSample : it->second;
    Commit(book_.OnSuppressionChanged(
        elevator, [&](AlarmType t) { return Cause(elevator, t, s); }, clock_.WallNow()));
  }

  // Windows may be declared by another writer of the database (the API, a
  // CLI); re-reading them every second keeps this in step.
  void ReloadWindows(WallTime now) {
    auto rows = store_.CurrentWindows(db::FormatTime(now));
    if (!rows.ok()) {
      spdlog::warn("maintenance windows not reloaded: {}", rows.error().message);
      return;
    }
    windows_.clear();
    for (const auto& w : *rows) {
      auto s = db::ParseTime(w.starts_at), e = db::ParseTime(w.ends_at);
      if (s && e) windows_.push_back({w.elevator, *s, *e});
    }
  }

  void Tick() {
    Flush();
    WallTime now = clock_.WallNow();
    if (now - windows_loaded_ >= std::chrono::seconds(1)) {
      ReloadWindows(now);
      windows_loaded_ = now;
    }
    // Windows beginning or ending change what is suppressed.
    std::set<std::string> inside;
    for (const auto& w : windows_) {
      if (w.starts <= now && now < w.ends) inside.insert(w.elevator);
    }
    if (inside != inside_) {
      std::set<std::string> changed;
      for (const auto& e : inside) {
        if (!inside_.count(e)) changed.insert(e);
      }
      for (const auto& e : inside_) {
        if (!inside.count(e)) changed.insert(e);
      }
      inside_ = inside;
      for (const auto& e : changed) OnSuppressionMaybeChanged(e);
    }
    std::erase_if(windows_, [&](const Window& w) { return w.ends <= now; });
    if (redetected_) {
      for (const auto& elevator : book_.AwaitingReconcile()) {
        if (auto types = redetected_(elevator)) {
          // Compliance alarms are the records' to confirm or clear
          // (PostCompliance), never the detectors'.
          for (const auto& a : book_.OpenFor(elevator)) {
            if (IsComplianceAlarm(a.type)) types->push_back(a.type);
          }
          Commit(book_.ReconcileAfterRestart(elevator, *types, now));
        }
      }
    }
    Commit(book_.OnTime(now));
  }

  struct Window {
    std::string elevator;
    WallTime starts, ends;
  };

  Strand strand_;
  db::AlarmStore store_;
  const Clock& clock_;
  AlarmBook book_;
  Redetected redetected_;
  std::vector<Listener> listeners_;
  CommitHook hook_;
  std::deque<rules::Update> unwritten_;
  std::map<std::string, Sample> latest_;  // the car's sample at its latest finding or mode change
  std::vector<Window> windows_;
  WallTime windows_loaded_{};
  std::set<std::string> inside_;
  std::atomic<uint64_t> write_failures_{0};

  void PublishCounts() {
    std::lock_guard lock(counts_mu_);
    counts_ = book_.Counts();
  }
  mutable std::mutex counts_mu_;
  rules::AlarmCounts counts_;
};

AlarmService::AlarmService(Strand strand, db::Database& db, const Clock& clock,
                           const RulesConfig& site)
    : impl_(std::make_unique<Impl>(strand, db, clock, site)) {}
AlarmService::~AlarmService() = default;

Status AlarmService::Start(Redetected redetected) {
  Status st = impl_->Start(std::move(redetected));
  if (!st) return st;
  impl_->ReloadWindows(impl_->clock_.WallNow());
  impl_->windows_loaded_ = impl_->clock_.WallNow();
  return Status::Ok();
}

void AlarmService::AddListener(Listener l) { impl_->listeners_.push_back(std::move(l)); }
void AlarmService::SetCommitHook(CommitHook hook) { impl_->hook_ = std::move(hook); }

void AlarmService::SetRules(const RulesConfig& site,
                            const std::vector<std::pair<std::string, RulesConfig>>& per_elevator) {
  asio::post(impl_->strand_, [this, site, per_elevator] {
    impl_->book_.SetSiteRules(site);
    for (const auto& [e, r] : per_elevator) impl_->book_.SetElevatorRules(e, r);
  });
}

void AlarmService::PostFindings(const std::string& elevator, std::vector<rules::Finding> findings,
                                const Sample& latest) {
  asio::post(impl_->strand_, [this, elevator, findings = std::move(findings), latest] {
    impl_->OnFindings(elevator, findings, latest);
  });
}

void AlarmService::PostModeChange(const std::string& elevator, const Sample& latest) {
  asio::post(impl_->strand_, [this, elevator, latest] {
    impl_->latest_[elevator] = latest;
    impl_->OnSuppressionMaybeChanged(elevator);
  });
}

void AlarmService::Tick() { impl_->Tick(); }

void AlarmService::RetireMissing(std::set<std::string> configured) {
  asio::post(impl_->strand_, [this, configured = std::move(configured)] {
    std::set<std::string> gone;
    for (const auto& a : impl_->book_.Open()) {
      // Pseudo-keys (with a colon) belong to no car; of those only a
      // channel's ("channel:ID") is judged here, the rest by their owners.
      bool pseudo = a.elevator.find(':') != std::string::npos;
      if (pseudo && !a.elevator.starts_with("channel:")) continue;
      if (!configured.count(a.elevator)) gone.insert(a.elevator);
    }
    for (const auto& e : gone) {
      impl_->Commit(impl_->book_.CloseAllFor(e, std::string(AlarmBook::kSystem),
                                             e.starts_with("channel:")
                                                 ? "channel removed from the configuration"
                                                 : "elevator removed from the configuration",
                                             impl_->clock_.WallNow()));
    }
  });
}

void AlarmService::PostCompliance(std::vector<ComplianceAlarm> holding) {
  asio::post(impl_->strand_, [this, holding = std::move(holding)] {
    const WallTime now = impl_->clock_.WallNow();
    const SteadyTime steady = impl_->clock_.Now();
    std::set<std::pair<std::string, AlarmType>> listed;
    for (const auto& c : holding) {
      if (!IsComplianceAlarm(c.type)) continue;
      listed.insert({c.subject, c.type});
      rules::Finding f;
      f.type = c.type;
      f.active = true;
      f.severity = c.severity;
      f.message = c.message;
      f.at = steady;
      f.wall_at = now;
      impl_->Commit(impl_->book_.OnFinding(c.subject, f, std::nullopt));
    }
    for (const auto& a : impl_->book_.Open()) {
      if (!IsComplianceAlarm(a.type) || !a.active || listed.count({a.elevator, a.type})) continue;
      rules::Finding f;
      f.type = a.type;
      f.active = false;
      f.severity = a.severity;
      f.message = "no longer holds according to the records";
      f.at = steady;
      f.wall_at = now;
      impl_->Commit(impl_->book_.OnFinding(a.elevator, f, std::nullopt));
    }
  });
}

namespace {
template <typename T, typename F>
T RunOn(AlarmService::Strand& strand, F f) {
  std::promise<T> p;
  auto fut = p.get_future();
  asio::post(strand, [&] { p.set_value(f()); });
  return fut.get();
}
}  // namespace

Result<Transition> AlarmService::Ack(rules::AlarmId id, const std::string& who,
                                     const std::string& note) {
  return RunOn<Result<Transition>>(impl_->strand_, [&]() -> Result<Transition> {
    auto t = impl_->book_.Ack(id, who, note, impl_->clock_.WallNow());
    if (!t.ok()) return t;
    rules::Update u;
    u.transitions.push_back(*t);
    impl_->Commit(std::move(u));
    if (!impl_->unwritten_.empty()) {
      return Error::Transient("database", "acknowledged, but not stored yet; it will be retried");
    }
    return t;
  });
}

Result<Transition> AlarmService::Shelve(rules::AlarmId id, const std::string& who,
                                        const std::string& reason, std::chrono::minutes minutes) {
  return RunOn<Result<Transition>>(impl_->strand_, [&]() -> Result<Transition> {
    WallTime now = impl_->clock_.WallNow();
    auto t = impl_->book_.Shelve(id, who, reason, now + minutes, now);
    if (!t.ok()) return t;
    rules::Update u;
    u.transitions.push_back(*t);
    impl_->Commit(std::move(u));
    if (!impl_->unwritten_.empty()) {
      return Error::Transient("database", "shelved, but not stored yet; it will be retried");
    }
    return t;
  });
}

Result<int64_t> AlarmService::AddMaintenanceWindow(const std::string& elevator, WallTime starts,
                                                   WallTime ends, const std::string& reason,
                                                   const std::string& who) {
  if (ends <= starts) {
    return Error::Permanent("bad_request", "a maintenance window must end after it starts");
  }
  return RunOn<Result<int64_t>>(impl_->strand_, [&]() -> Result<int64_t> {
    db::MaintenanceWindow w;
    w.elevator = elevator;
    w.starts_at = db::FormatTime(starts);
    w.ends_at = db::FormatTime(ends);
    w.reason = reason;
    w.created_by = who;
    w.created_at = db::FormatTime(impl_->clock_.WallNow());
    auto id = impl_->store_.AddWindow(w);
    if (id.ok()) impl_->windows_.push_back({elevator, starts, ends});
    return id;
  });
}

rules::AlarmCounts AlarmService::Counts() const {
  std::lock_guard lock(impl_->counts_mu_);
  return impl_->counts_;
}

uint64_t AlarmService::write_failures() const { return impl_->write_failures_; }

}  // namespace lg
