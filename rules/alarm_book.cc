#include "rules/alarm_book.h"

#include <algorithm>
#include <ctime>
#include <utility>

namespace lg::rules {
namespace {

using std::chrono::seconds;

constexpr std::array<std::string_view, 6> kStateNames = {"unack",  "acked",   "rtn_unack",
                                                         "closed", "shelved", "suppressed"};
constexpr std::array<std::string_view, 3> kCauseNames = {"inspection", "out_of_service",
                                                         "maintenance_window"};
constexpr std::array<std::string_view, 4> kNotifyNames = {"none", "now", "digest", "chatter"};
constexpr std::array<std::string_view, 13> kKindNames = {
    "raised",          "reraised",          "cleared",
    "acked",           "shelved",           "unshelved",
    "shelve_expired",  "suppression_ended", "suppression_changed",
    "details_changed", "chatter_ended",     "cleared_while_down",
    "retired"};

template <typename E, size_t N>
std::string_view NameOf(const std::array<std::string_view, N>& names, E e) {
  size_t i = static_cast<size_t>(e);
  return i < N ? names[i] : "?";
}

template <typename E, size_t N>
std::optional<E> FromName(const std::array<std::string_view, N>& names, std::string_view name) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<E>(i);
  }
  return std::nullopt;
}

// "2026-11-03T08:15:00Z"
std::string FormatTime(WallTime t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string_view CauseText(SuppressionCause c) {
  switch (c) {
    case SuppressionCause::kInspection:
      return "the car is in inspection mode";
    case SuppressionCause::kOutOfService:
      return "the car is out of service";
    case SuppressionCause::kMaintenanceWindow:
      break;
  }
  return "a declared maintenance window is in force";
}

bool Suppresses(AlarmType t, std::optional<SuppressionCause> cause) {
  return cause.has_value() && IsSuppressible(t, *cause);
}

// The state beneath a shelve: what the facts say.
AlarmState RealState(const Alarm& a) {
  if (a.active) return a.acked ? AlarmState::kAcked : AlarmState::kUnack;
  return a.acked ? AlarmState::kClosed : AlarmState::kRtnUnack;
}

std::string AlarmLabel(const Alarm& a) {
  return "alarm " + std::to_string(a.id) + " (" + std::string(AlarmTypeName(a.type)) + " on " +
         a.elevator + ")";
}

Error Refuse(std::string code, std::string message) {
  return Error::Permanent(std::move(code), std::move(message));
}

}  // namespace

std::string_view AlarmStateName(AlarmState s) { return NameOf(kStateNames, s); }
std::optional<AlarmState> AlarmStateFromName(std::string_view name) {
  return FromName<AlarmState>(kStateNames, name);
}
std::string_view SuppressionCauseName(SuppressionCause c) { return NameOf(kCauseNames, c); }
std::optional<SuppressionCause> SuppressionCauseFromName(std::string_view name) {
  return FromName<SuppressionCause>(kCauseNames, name);
}
std::string_view NotifyName(Notify n) { return NameOf(kNotifyNames, n); }
std::optional<Notify> NotifyFromName(std::string_view name) {
  return FromName<Notify>(kNotifyNames, name);
}
std::string_view TransitionKindName(TransitionKind k) { return NameOf(kKindNames, k); }
std::optional<TransitionKind> TransitionKindFromName(std::string_view name) {
  return FromName<TransitionKind>(kKindNames, name);
}

AlarmBook::AlarmBook(const RulesConfig& site) : AlarmBook(site, Options{}) {}
AlarmBook::AlarmBook(const RulesConfig& site, Options options) : site_(site), options_(options) {}

void AlarmBook::SetSiteRules(const RulesConfig& site) { site_ = site; }
void AlarmBook::SetElevatorRules(const std::string& elevator, const RulesConfig& rules) {
  per_elevator_[elevator] = rules;
}

const RulesConfig& AlarmBook::RulesFor(const std::string& elevator) const {
  auto it = per_elevator_.find(elevator);
  return it == per_elevator_.end() ? site_ : it->second;
}

Alarm* AlarmBook::FindOpen(AlarmId id) {
  auto it = open_.find(id);
  return it == open_.end() ? nullptr : &it->second;
}

Error AlarmBook::NotOpen(AlarmId id, std::string_view action) const {
  if (id > 0 && id < next_id_) {
    return Refuse("closed", "alarm " + std::to_string(id) +
                                " is closed; a closed alarm cannot be " + std::string(action));
  }
  return Refuse("not_found", "there is no alarm " + std::to_string(id));
}

Transition AlarmBook::Make(Alarm& a, std::optional<AlarmState> from, TransitionKind kind,
                           WallTime at, std::string_view who, std::string note) {
  a.revision += 1;
  a.updated_at = at;
  Transition t;
  t.alarm_id = a.id;
  t.elevator = a.elevator;
  t.type = a.type;
  t.from_state = from;
  t.to_state = a.state;
  t.kind = kind;
  t.at = at;
  t.who = std::string(who);
  t.note = std::move(note);
  t.notify = Notify::kNone;
  t.alarm = a;
  return t;
}

// Only for transitions that leave an alarm unack (it needs a person).
void AlarmBook::Decide(Transition& t, WallTime now) {
  const RulesConfig& r = RulesFor(t.elevator);
  Chatter& c = chatter_[Key{t.elevator, t.type}];
  if (c.chattering && c.last_notified &&
      now - *c.last_notified < seconds(r.chatter_notify_interval_s)) {
    t.notify = Notify::kSuppressedByChatter;
    return;
  }
  c.last_notified = now;
  if (flood_ && t.alarm.severity != Severity::kCritical) {
    t.notify = Notify::kDigest;
    pending_.push_back(t);
    return;
  }
  t.notify = Notify::kNow;
}

// An alarm shown for the first time (raised unsuppressed, or released from
// suppression) counts towards a flood.
void AlarmBook::CountNew(WallTime now, Update& u) {
  if (site_.flood_window_s <= 0) return;
  new_alarms_.push_back(now);
  while (!new_alarms_.empty() && now - new_alarms_.front() >= seconds(site_.flood_window_s)) {
    new_alarms_.pop_front();
  }
  if (!flood_ && static_cast<long>(new_alarms_.size()) > site_.flood_count) {
    flood_ = true;
    next_digest_at_ = now + seconds(std::max(1, site_.flood_digest_s));
    u.flood = FloodChange::kStarted;
  }
}

void AlarmBook::Erase(const Alarm& a) {
  AlarmId id = a.id;
  if (a.shelve) shelf_.erase({a.shelve->until, id});
  awaiting_reconcile_.erase(id);
  by_key_.erase(Key{a.elevator, a.type});
  open_.erase(id);
  ++closed_;
}

void AlarmBook::MaybeEndChatter(const Key& key, WallTime now, Update& u) {
  auto it = chatter_.find(key);
  if (it == chatter_.end() || !it->second.chattering) return;
  const RulesConfig& r = RulesFor(key.elevator);
  if (now - it->second.last_change < seconds(r.chatter_notify_interval_s)) return;
  it->second.chattering = false;
  it->second.clears.clear();
  chattering_keys_.erase(key);
  auto k = by_key_.find(key);
  if (k == by_key_.end()) return;
  Alarm& a = open_.at(k->second);
  if (!a.chattering) return;
  a.chattering = false;
  u.transitions.push_back(Make(a, a.state, TransitionKind::kChatterEnded, now, kSystem,
                               "no longer chattering: neither raised nor cleared for " +
                                   std::to_string(r.chatter_notify_interval_s) + " s"));
}

Update AlarmBook::OnFinding(const std::string& elevator, const Finding& finding,
                            std::optional<SuppressionCause> suppression) {
  Update u;
  Key key{elevator, finding.type};
  MaybeEndChatter(key, finding.wall_at, u);
  if (finding.active) {
    Raise(key, finding, suppression, u);
  } else {
    Clear(key, finding.wall_at, u);
  }
  return u;
}

void AlarmBook::Raise(const Key& key, const Finding& f, std::optional<SuppressionCause> cause,
                      Update& u) {
  const WallTime now = f.wall_at;
  Chatter& c = chatter_[key];
  auto k = by_key_.find(key);
  if (k == by_key_.end()) {
    c.last_change = now;
    Alarm a;
    a.id = next_id_++;
    a.elevator = key.elevator;
    a.type = key.type;
    a.severity = f.severity;
    a.subtype = f.subtype;
    a.message = f.message;
    a.active = true;
    a.acked = false;
    a.raised_at = now;
    a.last_raised_at = now;
    a.raise_count = 1;
    a.chattering = c.chattering;
    ++raised_;
    std::string note = f.message;
    if (Suppresses(key.type, cause)) {
      a.state = AlarmState::kSuppressed;
      a.suppressed_by = cause;
      ++suppressed_raised_[static_cast<size_t>(*cause)];
      note = "suppressed: " + std::string(CauseText(*cause)) + (note.empty() ? "" : "; ") + note;
    } else {
      a.state = AlarmState::kUnack;
    }
    Alarm& stored = open_.emplace(a.id, std::move(a)).first->second;
    by_key_.emplace(key, stored.id);
    Transition t = Make(stored, std::nullopt, TransitionKind::kRaised, now, kSystem, note);
    if (stored.state == AlarmState::kUnack) {
      CountNew(now, u);
      Decide(t, now);
    }
    u.transitions.push_back(std::move(t));
    return;
  }

  Alarm& a = open_.at(k->second);
  awaiting_reconcile_.erase(a.id);  // the detectors confirm it
  if (a.active) {
    // The same condition, still holding: no second alarm.
    if (a.state == AlarmState::kSuppressed && !Suppresses(a.type, cause)) {
      a.severity = f.severity;
      a.subtype = f.subtype;
      a.message = f.message;
      std::string note = "suppression ended (" + std::string(CauseText(*a.suppressed_by)) +
                         " no more) while the condition still holds";
      a.suppressed_by.reset();
      a.state = AlarmState::kUnack;
      Transition t = Make(a, AlarmState::kSuppressed, TransitionKind::kSuppressionEnded, now,
                          kSystem, std::move(note));
      CountNew(now, u);
      Decide(t, now);
      u.transitions.push_back(std::move(t));
    } else if (a.severity != f.severity || a.subtype != f.subtype || a.message != f.message) {
      a.severity = f.severity;
      a.subtype = f.subtype;
      a.message = f.message;
      u.transitions.push_back(
          Make(a, a.state, TransitionKind::kDetailsChanged, now, kSystem, f.message));
    }
    return;
  }

  // It had returned to normal (rtn_unack, or shelved beneath): the same
  // alarm becomes active again.
  c.last_change = now;
  AlarmState from = a.state;
  a.active = true;
  a.cleared_at.reset();
  a.last_raised_at = now;
  a.raise_count += 1;
  a.severity = f.severity;
  a.subtype = f.subtype;
  a.message = f.message;
  a.chattering = a.chattering || c.chattering;
  if (a.state != AlarmState::kShelved) a.state = AlarmState::kUnack;
  Transition t = Make(a, from, TransitionKind::kReraised, now, kSystem, f.message);
  if (a.state == AlarmState::kUnack) Decide(t, now);
  u.transitions.push_back(std::move(t));
}

void AlarmBook::Clear(const Key& key, WallTime now, Update& u) {
  auto k = by_key_.find(key);
  if (k == by_key_.end()) return;
  Alarm& a = open_.at(k->second);
  awaiting_reconcile_.erase(a.id);
  if (!a.active) return;

  const RulesConfig& r = RulesFor(key.elevator);
  Chatter& c = chatter_[key];
  c.last_change = now;
  std::string note = "condition cleared";
  if (r.chatter_count > 0 && r.chatter_window_s > 0) {
    c.clears.push_back(now);
    while (!c.clears.empty() && now - c.clears.front() >= seconds(r.chatter_window_s)) {
      c.clears.pop_front();
    }
    if (!c.chattering && static_cast<long>(c.clears.size()) >= r.chatter_count) {
      c.chattering = true;
      chattering_keys_.insert(key);
      note += "; chattering: raised and cleared " + std::to_string(c.clears.size()) +
              " times within " + std::to_string(r.chatter_window_s) +
              " s, notifications limited to one per " +
              std::to_string(r.chatter_notify_interval_s) + " s";
    }
  }
  a.chattering = a.chattering || c.chattering;

  AlarmState from = a.state;
  a.active = false;
  a.cleared_at = now;
  switch (a.state) {
    case AlarmState::kSuppressed:
      a.state = AlarmState::kClosed;
      note += " while suppressed; never notified";
      break;
    case AlarmState::kUnack:
      a.state = AlarmState::kRtnUnack;
      break;
    case AlarmState::kAcked:
      a.state = AlarmState::kClosed;
      break;
    case AlarmState::kShelved:
      if (a.acked) {
        a.state = AlarmState::kClosed;
        note += "; it was acknowledged, so it closes and its shelve ends";
      }
      break;
    case AlarmState::kRtnUnack:
    case AlarmState::kClosed:
      break;  // not reached: those are not active
  }
  if (a.state == AlarmState::kClosed) a.closed_at = now;
  u.transitions.push_back(Make(a, from, TransitionKind::kCleared, now, kSystem, std::move(note)));
  if (a.state == AlarmState::kClosed) Erase(a);
}

Update AlarmBook::OnSuppressionChanged(const std::string& elevator,
                                       const SuppressionOf& suppression_of, WallTime now) {
  Update u;
  for (int i = 0; i < kAlarmTypeCount; ++i) {
    auto type = static_cast<AlarmType>(i);
    auto k = by_key_.find(Key{elevator, type});
    if (k == by_key_.end()) continue;
    Alarm& a = open_.at(k->second);
    if (a.state != AlarmState::kSuppressed) continue;
    std::optional<SuppressionCause> suppression =
        suppression_of ? suppression_of(type) : std::nullopt;
    if (Suppresses(type, suppression)) {
      if (suppression == a.suppressed_by) continue;
      a.suppressed_by = suppression;
      u.transitions.push_back(Make(a, a.state, TransitionKind::kSuppressionChanged, now, kSystem,
                                   "still suppressed: " + std::string(CauseText(*suppression))));
      continue;
    }
    std::string note = "suppression ended (" + std::string(CauseText(*a.suppressed_by)) +
                       " no more) while the condition still holds";
    a.suppressed_by.reset();
    a.state = AlarmState::kUnack;
    Transition t = Make(a, AlarmState::kSuppressed, TransitionKind::kSuppressionEnded, now, kSystem,
                        std::move(note));
    CountNew(now, u);
    Decide(t, now);
    u.transitions.push_back(std::move(t));
  }
  return u;
}

Transition AlarmBook::ReturnFromShelf(Alarm& a, TransitionKind kind, std::string_view who,
                                      std::string note, WallTime now) {
  if (a.shelve) shelf_.erase({a.shelve->until, a.id});
  a.shelve.reset();
  // Clearing or acknowledging a shelved alarm closes it at once when both
  // hold, so the real state here is never closed.
  a.state = RealState(a);
  Transition t = Make(a, AlarmState::kShelved, kind, now, who, std::move(note));
  if (a.state == AlarmState::kUnack) Decide(t, now);
  return t;
}

Update AlarmBook::OnTime(WallTime now) {
  Update u;
  while (!shelf_.empty() && shelf_.begin()->first <= now) {
    Alarm& a = open_.at(shelf_.begin()->second);
    std::string note = "shelve by " + a.shelve->by + " expired at " + FormatTime(a.shelve->until) +
                       "; back to " + std::string(AlarmStateName(RealState(a)));
    u.transitions.push_back(
        ReturnFromShelf(a, TransitionKind::kShelveExpired, kSystem, std::move(note), now));
  }

  if (!chattering_keys_.empty()) {
    std::vector<Key> keys(chattering_keys_.begin(), chattering_keys_.end());
    for (const Key& key : keys) MaybeEndChatter(key, now, u);
  }

  while (!new_alarms_.empty() && site_.flood_window_s > 0 &&
         now - new_alarms_.front() >= seconds(site_.flood_window_s)) {
    new_alarms_.pop_front();
  }
  if (flood_) {
    if (site_.flood_window_s <= 0 || static_cast<long>(new_alarms_.size()) <= site_.flood_count) {
      flood_ = false;
      u.flood = FloodChange::kEnded;
      if (!pending_.empty()) u.digest = TakeDigest(now);
    } else if (now >= next_digest_at_) {
      if (!pending_.empty()) u.digest = TakeDigest(now);
      const auto step = seconds(std::max(1, site_.flood_digest_s));
      while (next_digest_at_ <= now) next_digest_at_ += step;
    }
  } else if (!pending_.empty()) {
    // Restored items, or a flood that ended by a reload.
    u.digest = TakeDigest(now);
  }

  Prune(now);
  return u;
}

void AlarmBook::Prune(WallTime now) {
  if (now - last_prune_ < seconds(60) && now >= last_prune_) return;
  last_prune_ = now;
  for (auto it = chatter_.begin(); it != chatter_.end();) {
    Chatter& c = it->second;
    const RulesConfig& r = RulesFor(it->first.elevator);
    while (!c.clears.empty() && now - c.clears.front() >= seconds(r.chatter_window_s)) {
      c.clears.pop_front();
    }
    bool recent = c.last_notified && now - *c.last_notified < seconds(r.chatter_notify_interval_s);
    if (!c.chattering && c.clears.empty() && !recent) {
      it = chatter_.erase(it);
    } else {
      ++it;
    }
  }
}

std::optional<Digest> AlarmBook::TakeDigest(WallTime now) {
  if (pending_.empty()) return std::nullopt;
  Digest d;
  d.at = now;
  d.items = std::move(pending_);
  pending_.clear();
  return d;
}

Result<Transition> AlarmBook::Ack(AlarmId id, const std::string& who, const std::string& note,
                                  WallTime now) {
  Alarm* a = FindOpen(id);
  if (a == nullptr) return NotOpen(id, "acknowledged");
  if (who.empty()) {
    return Refuse("missing_who", "an acknowledgement needs the name of the person who gives it");
  }
  if (a->state == AlarmState::kSuppressed) {
    return Refuse("suppressed", AlarmLabel(*a) + " is suppressed (" +
                                    std::string(CauseText(*a->suppressed_by)) +
                                    "); it can be acknowledged if it is still active when the "
                                    "suppression ends");
  }
  if (a->acked) {
    return Refuse("already_acknowledged", AlarmLabel(*a) + " was already acknowledged by " +
                                              a->acked_by + " at " + FormatTime(*a->acked_at));
  }
  AlarmState from = a->state;
  a->acked = true;
  a->acked_at = now;
  a->acked_by = who;
  a->ack_note = note;
  if (a->state != AlarmState::kShelved || !a->active) a->state = RealState(*a);
  if (a->state == AlarmState::kClosed) a->closed_at = now;
  Transition t = Make(*a, from, TransitionKind::kAcked, now, who, note);
  if (a->state == AlarmState::kClosed) Erase(*a);
  return t;
}

Result<Transition> AlarmBook::Shelve(AlarmId id, const std::string& who, const std::string& reason,
                                     WallTime until, WallTime now) {
  Alarm* a = FindOpen(id);
  if (a == nullptr) return NotOpen(id, "shelved");
  if (who.empty())
    return Refuse("missing_who", "shelving needs the name of the person who does it");
  if (reason.empty()) return Refuse("missing_reason", "shelving needs a reason");
  if (!IsShelvable(a->type)) {
    return Refuse("not_shelvable", std::string(AlarmTypeName(a->type)) +
                                       " alarms may never be shelved (faults.md: TRAPPED, UCM, "
                                       "OVERSPEED, the overruns and DOOR_OPEN_WHILE_MOVING)");
  }
  if (a->state == AlarmState::kSuppressed) {
    return Refuse("suppressed", AlarmLabel(*a) + " is suppressed (" +
                                    std::string(CauseText(*a->suppressed_by)) +
                                    "); there is nothing to shelve");
  }
  if (a->state == AlarmState::kShelved) {
    return Refuse("already_shelved", AlarmLabel(*a) + " is already shelved by " + a->shelve->by +
                                         " until " + FormatTime(a->shelve->until) +
                                         "; unshelve it first to change that");
  }
  if (until <= now) {
    return Refuse("expiry_past", "the shelve expiry " + FormatTime(until) +
                                     " is not in the future; give a time after " + FormatTime(now));
  }
  if (until - now > options_.max_shelve) {
    return Refuse("expiry_too_long", "an alarm may be shelved for at most " +
                                         std::to_string(options_.max_shelve.count() / 3600) +
                                         " h (" + std::to_string(options_.max_shelve.count()) +
                                         " s); " + FormatTime(until) + " is later than " +
                                         FormatTime(now + options_.max_shelve));
  }
  AlarmState from = a->state;
  a->shelve = ShelveInfo{who, reason, now, until};
  a->state = AlarmState::kShelved;
  shelf_.insert({until, a->id});
  return Make(*a, from, TransitionKind::kShelved, now, who,
              reason + " (until " + FormatTime(until) + ")");
}

Result<Transition> AlarmBook::Unshelve(AlarmId id, const std::string& who, const std::string& note,
                                       WallTime now) {
  Alarm* a = FindOpen(id);
  if (a == nullptr) return NotOpen(id, "unshelved");
  if (who.empty()) {
    return Refuse("missing_who", "unshelving needs the name of the person who does it");
  }
  if (a->state != AlarmState::kShelved) {
    return Refuse("not_shelved", AlarmLabel(*a) + " is not shelved (it is " +
                                     std::string(AlarmStateName(a->state)) + ")");
  }
  return ReturnFromShelf(*a, TransitionKind::kUnshelved, who, note, now);
}

Update AlarmBook::CloseAllFor(const std::string& elevator, const std::string& who,
                              const std::string& note, WallTime now) {
  Update u;
  for (int i = 0; i < kAlarmTypeCount; ++i) {
    Key key{elevator, static_cast<AlarmType>(i)};
    auto k = by_key_.find(key);
    if (k != by_key_.end()) {
      Alarm& a = open_.at(k->second);
      AlarmState from = a.state;
      a.state = AlarmState::kClosed;
      a.closed_at = now;
      u.transitions.push_back(Make(a, from, TransitionKind::kRetired, now,
                                   who.empty() ? kSystem : std::string_view(who), note));
      Erase(a);
    }
    chattering_keys_.erase(key);
    chatter_.erase(key);
  }
  per_elevator_.erase(elevator);
  return u;
}

Status AlarmBook::Restore(RestoreData data) {
  if (next_id_ != 1 || !open_.empty() || !pending_.empty()) {
    return Refuse("restore", "Restore must be the first call, on an empty alarm book");
  }
  std::unordered_map<AlarmId, Alarm> open;
  std::unordered_map<Key, AlarmId, KeyHash> by_key;
  AlarmId max_id = data.max_id;
  for (Alarm& a : data.open) {
    auto bad = [&](const std::string& why) {
      return Refuse("restore", "cannot restore alarm " + std::to_string(a.id) + " (" +
                                   std::string(AlarmTypeName(a.type)) + " on " + a.elevator +
                                   ", state " + std::string(AlarmStateName(a.state)) + "): " + why);
    };
    if (a.id == 0) return bad("its id is 0");
    if (a.elevator.empty()) return bad("it has no elevator");
    if (static_cast<int>(a.type) >= kAlarmTypeCount) return bad("unknown type");
    bool consistent = false;
    switch (a.state) {
      case AlarmState::kUnack:
        consistent = a.active && !a.acked;
        break;
      case AlarmState::kAcked:
        consistent = a.active && a.acked;
        break;
      case AlarmState::kRtnUnack:
        consistent = !a.active && !a.acked;
        break;
      case AlarmState::kClosed:
        return bad("closed alarms are not restored");
      case AlarmState::kShelved:
        if (!a.shelve) return bad("shelved without who, reason and expiry");
        consistent = a.active || !a.acked;
        break;
      case AlarmState::kSuppressed:
        if (!a.suppressed_by) return bad("suppressed without a reason");
        consistent = a.active && !a.acked;
        break;
    }
    if (!consistent) {
      return bad(std::string("the state does not fit active=") + (a.active ? "true" : "false") +
                 ", acked=" + (a.acked ? "true" : "false"));
    }
    Key key{a.elevator, a.type};
    if (by_key.count(key)) {
      return bad("alarm " + std::to_string(by_key[key]) + " is open for the same car and type");
    }
    if (open.count(a.id)) return bad("the id appears twice");
    max_id = std::max(max_id, a.id);
    by_key.emplace(std::move(key), a.id);
    AlarmId id = a.id;
    open.emplace(id, std::move(a));
  }

  open_ = std::move(open);
  by_key_ = std::move(by_key);
  next_id_ = max_id + 1;
  for (auto& [id, a] : open_) {
    if (a.state == AlarmState::kShelved) shelf_.insert({a.shelve->until, id});
    if (a.active) awaiting_reconcile_.insert(id);
    if (a.chattering) {
      Key key{a.elevator, a.type};
      Chatter& c = chatter_[key];
      c.chattering = true;
      c.last_change = std::max(a.last_raised_at, a.cleared_at.value_or(a.last_raised_at));
      chattering_keys_.insert(key);
    }
  }
  pending_ = std::move(data.undigested);
  return Status::Ok();
}

Update AlarmBook::ReconcileAfterRestart(const std::string& elevator,
                                        const std::vector<AlarmType>& active_now, WallTime now) {
  Update u;
  for (int i = 0; i < kAlarmTypeCount; ++i) {
    auto type = static_cast<AlarmType>(i);
    auto k = by_key_.find(Key{elevator, type});
    if (k == by_key_.end() || !awaiting_reconcile_.count(k->second)) continue;
    Alarm& a = open_.at(k->second);
    awaiting_reconcile_.erase(a.id);
    if (std::find(active_now.begin(), active_now.end(), type) != active_now.end()) continue;
    AlarmState from = a.state;
    a.active = false;
    a.cleared_at = now;
    a.state = AlarmState::kClosed;
    a.closed_at = now;
    u.transitions.push_back(Make(a, from, TransitionKind::kClearedWhileDown, now, kSystem,
                                 std::string(kClearedWhileDownNote)));
    Erase(a);
  }
  return u;
}

std::vector<std::string> AlarmBook::AwaitingReconcile() const {
  std::set<std::string> cars;
  for (AlarmId id : awaiting_reconcile_) cars.insert(open_.at(id).elevator);
  return {cars.begin(), cars.end()};
}

std::optional<Alarm> AlarmBook::Get(AlarmId id) const {
  auto it = open_.find(id);
  if (it == open_.end()) return std::nullopt;
  return it->second;
}

std::optional<Alarm> AlarmBook::OpenFor(const std::string& elevator, AlarmType type) const {
  auto k = by_key_.find(Key{elevator, type});
  if (k == by_key_.end()) return std::nullopt;
  return open_.at(k->second);
}

std::vector<Alarm> AlarmBook::Open() const {
  std::vector<Alarm> out;
  out.reserve(open_.size());
  for (const auto& [id, a] : open_) out.push_back(a);
  std::sort(out.begin(), out.end(), [](const Alarm& x, const Alarm& y) { return x.id < y.id; });
  return out;
}

std::vector<Alarm> AlarmBook::OpenFor(const std::string& elevator) const {
  std::vector<Alarm> out;
  for (int i = 0; i < kAlarmTypeCount; ++i) {
    auto k = by_key_.find(Key{elevator, static_cast<AlarmType>(i)});
    if (k != by_key_.end()) out.push_back(open_.at(k->second));
  }
  std::sort(out.begin(), out.end(), [](const Alarm& x, const Alarm& y) { return x.id < y.id; });
  return out;
}

AlarmCounts AlarmBook::Counts() const {
  AlarmCounts c;
  for (const auto& [id, a] : open_) {
    ++c.open;
    if (a.chattering) ++c.chattering;
    switch (a.state) {
      case AlarmState::kUnack:
        ++c.unack;
        break;
      case AlarmState::kAcked:
        ++c.acked;
        break;
      case AlarmState::kRtnUnack:
        ++c.rtn_unack;
        break;
      case AlarmState::kShelved:
        ++c.shelved;
        break;
      case AlarmState::kSuppressed:
        ++c.suppressed;
        ++c.suppressed_now_by_cause[static_cast<size_t>(*a.suppressed_by)];
        break;
      case AlarmState::kClosed:
        break;
    }
  }
  c.suppressed_raised_by_cause = suppressed_raised_;
  c.raised = raised_;
  c.closed = closed_;
  return c;
}

bool AlarmBook::chattering(const std::string& elevator, AlarmType type) const {
  auto it = chatter_.find(Key{elevator, type});
  return it != chatter_.end() && it->second.chattering;
}

}  // namespace lg::rules
