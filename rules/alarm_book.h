// AlarmBook: the alarm lifecycle of shared/spec/faults.md ("Suppression",
// "Alarm lifecycle", ISA-18.2 states) as a pure state machine.
//
// The book is fed three things and answers each with the transitions it
// caused:
//   - Findings from the detectors (a condition started or stopped holding),
//     together with the car's current suppression cause;
//   - operator actions (acknowledge, shelve, unshelve);
//   - the passing of time (OnTime: shelve expiry, end of chattering, flood
//     end and the flood digest).
// It never does I/O, never reads a clock (every time is passed in) and never
// starts threads. It does not send anything either: each Transition carries
// the notification decision (`notify`) the notifier follows.
//
// Contract with the daemon:
//   1. Every Transition returned must be stored (alarm row upserted from
//      `Transition::alarm`, history row appended, an outbox row for
//      Notify::kNow) in one transaction BEFORE anything is told about it. A
//      Digest is stored (outbox row, its items marked digested) likewise.
//      (alarm_id, revision) identifies a transition, so a retried write can be
//      made idempotent. If a write fails the book is already ahead of the
//      database: retry the same transitions; do not feed the book the same
//      event again.
//   2. At start, before any other call, Restore() with every alarm that was
//      not closed, the highest alarm id ever stored, and the digest items not
//      yet sent. Then, for each car, once its detectors have had time to
//      re-detect what still holds, ReconcileAfterRestart() with those types
//      (see there). Cars no longer configured: CloseAllFor().
//   3. OnTime(now) regularly (every second or so is plenty).
//
// Times: every time is civil time (WallTime). Windows (chattering, flood,
// digest, shelve expiry) are measured on the times passed in; a clock that
// steps backwards makes nothing expire early and breaks nothing.
//
// Closed alarms leave the book (the Transition that closed them carries their
// last snapshot); Get() only knows open alarms.
//
// Thread-safety: none. One owner (the daemon's rules strand) calls it.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/alarm_type.h"
#include "core/clock.h"
#include "core/result.h"
#include "rules/finding.h"
#include "rules/rules_config.h"

namespace lg::rules {

using AlarmId = uint64_t;  // > 0; assigned by the book, never reused

// What an operator sees. The first four follow ISA-18.2; shelved and
// suppressed overlay the real state, which the alarm keeps (`active`,
// `acked`) and returns to.
enum class AlarmState : uint8_t {
  kUnack,       // "unack": active, not acknowledged
  kAcked,       // "acked": active, acknowledged
  kRtnUnack,    // "rtn_unack": returned to normal, not acknowledged yet
  kClosed,      // "closed": returned to normal and acknowledged; final. Closed without
                // an acknowledgement: a suppressed alarm that cleared, kClearedWhileDown,
                // kRetired.
  kShelved,     // "shelved": hidden by a named person until an expiry
  kSuppressed,  // "suppressed": raised while the car's mode or a window suppressed it
};
std::string_view AlarmStateName(AlarmState s);
std::optional<AlarmState> AlarmStateFromName(std::string_view name);

// "inspection" | "out_of_service" | "maintenance_window"
std::string_view SuppressionCauseName(SuppressionCause c);
std::optional<SuppressionCause> SuppressionCauseFromName(std::string_view name);

// What the notifier does about one transition.
enum class Notify : uint8_t {
  kNone,                 // "none": nothing to send (stored and shown only)
  kNow,                  // "now": send at once, on its own
  kDigest,               // "digest": flood; goes out in the next Digest
  kSuppressedByChatter,  // "chatter": chattering; one already went out less than
                         // chatter_notify_interval_s ago, send nothing
};
std::string_view NotifyName(Notify n);
std::optional<Notify> NotifyFromName(std::string_view name);

// Why a transition happened.
enum class TransitionKind : uint8_t {
  kRaised,            // "raised": a new alarm (from_state is empty)
  kReraised,          // "reraised": the condition came back (rtn_unack -> unack, or while shelved)
  kCleared,           // "cleared": the condition stopped holding
  kAcked,             // "acked"
  kShelved,           // "shelved"
  kUnshelved,         // "unshelved": by a person
  kShelveExpired,     // "shelve_expired"
  kSuppressionEnded,  // "suppression_ended": suppressed -> unack, still active
  kSuppressionChanged,  // "suppression_changed": still suppressed, for another reason
  kDetailsChanged,      // "details_changed": severity / subtype / message of an active alarm
  kChatterEnded,        // "chatter_ended"
  kClearedWhileDown,    // "cleared_while_down": see ReconcileAfterRestart
  kRetired,             // "retired": CloseAllFor (car removed from the configuration)
};
std::string_view TransitionKindName(TransitionKind k);
std::optional<TransitionKind> TransitionKindFromName(std::string_view name);

struct ShelveInfo {
  std::string by;  // who shelved it
  std::string reason;
  WallTime at{};     // when
  WallTime until{};  // expiry
};

// One alarm: the row the store keeps. `state` is what is shown; `active` and
// `acked` are the facts beneath it (kept while shelved or suppressed).
struct Alarm {
  AlarmId id = 0;
  std::string elevator;
  AlarmType type = AlarmType::kTrapped;
  Severity severity = Severity::kMajor;  // from the latest raise Finding
  std::string subtype;                   // from the latest raise Finding
  std::string message;                   // from the latest raise Finding
  AlarmState state = AlarmState::kUnack;
  bool active = true;                  // the condition holds
  bool acked = false;                  // a person acknowledged it
  WallTime raised_at{};                // first raise
  WallTime last_raised_at{};           // latest raise
  std::optional<WallTime> cleared_at;  // latest clear, if it is not active
  std::optional<WallTime> acked_at;
  std::string acked_by;
  std::string ack_note;
  std::optional<WallTime> closed_at;
  // Set while suppressed / shelved, and kept if it closes in that state.
  std::optional<SuppressionCause> suppressed_by;
  std::optional<ShelveInfo> shelve;
  bool chattering = false;
  uint32_t raise_count = 1;  // raises of this alarm (re-raises from rtn_unack included)
  uint64_t revision = 0;     // +1 per transition; 1 for the raise that made it
  WallTime updated_at{};     // time of the latest transition
};

// A change of one alarm. The store upserts `alarm` and appends the rest as a
// history row in one transaction.
struct Transition {
  AlarmId alarm_id = 0;
  std::string elevator;
  AlarmType type = AlarmType::kTrapped;
  std::optional<AlarmState> from_state;  // empty for a new alarm
  AlarmState to_state = AlarmState::kUnack;
  TransitionKind kind = TransitionKind::kRaised;
  WallTime at{};
  std::string who;  // "system" or the person
  std::string note;
  Notify notify = Notify::kNone;
  Alarm alarm;  // full snapshot after the transition (alarm.revision identifies it)
};

// During a flood: the non-critical notifications held back since the last
// digest, in order. Each item is the Transition as returned earlier (with
// Notify::kDigest); the alarm may have changed since (Get() has it now).
struct Digest {
  WallTime at{};
  std::vector<Transition> items;
};

enum class FloodChange : uint8_t { kNone, kStarted, kEnded };

struct Update {
  std::vector<Transition> transitions;  // in order; store all before acting on any
  std::optional<Digest> digest;         // only from OnTime and TakeDigest
  FloodChange flood = FloodChange::kNone;
};

struct AlarmCounts {
  // Open alarms now, by shown state (closed ones have left the book).
  size_t unack = 0;
  size_t acked = 0;
  size_t rtn_unack = 0;
  size_t shelved = 0;
  size_t suppressed = 0;
  size_t open = 0;
  size_t chattering = 0;  // open alarms marked chattering
  // Indexed by SuppressionCause.
  std::array<size_t, 3> suppressed_now_by_cause{};
  std::array<uint64_t, 3> suppressed_raised_by_cause{};  // since the book was made
  uint64_t raised = 0;  // new alarms since the book was made (suppressed included)
  uint64_t closed = 0;  // alarms closed since the book was made
};

class AlarmBook {
 public:
  struct Options {
    std::chrono::seconds max_shelve{std::chrono::hours(24)};  // longest shelve allowed
  };
  static constexpr std::string_view kSystem = "system";
  static constexpr std::string_view kClearedWhileDownNote =
      "cleared while Liftguard was not running";

  // `site` gives the flood_* thresholds and every car's chatter_* thresholds
  // unless SetElevatorRules() says otherwise for a car.
  explicit AlarmBook(const RulesConfig& site);
  AlarmBook(const RulesConfig& site, Options options);

  // For a reload. Affects decisions from now on only.
  void SetSiteRules(const RulesConfig& site);
  void SetElevatorRules(const std::string& elevator, const RulesConfig& rules);

  // --- Start -------------------------------------------------------------
  struct RestoreData {
    std::vector<Alarm> open;  // every alarm that was not closed at shutdown or crash
    AlarmId max_id = 0;       // the highest alarm id ever stored, closed ones included
    // Transitions stored with Notify::kDigest that no stored Digest has
    // carried yet; they go out in a digest at the first OnTime().
    std::vector<Transition> undigested;
  };
  // Only on an empty book, before any other call. All or nothing: on error
  // (a closed or inconsistent alarm, two alarms for one car and type,
  // duplicate ids) the book is left empty. New ids start above max_id and
  // every restored id. Active restored alarms await ReconcileAfterRestart.
  Status Restore(RestoreData data);

  // Tells which restored alarms of a car still hold. `active_now`: the types
  // whose condition holds for the car now. The simplest correct source is the
  // car's new CarDetector: once the car has answered for at least the longest
  // "sustained for" time of its rules (door_open_too_long_s, 120 s by
  // default), pass every type t with detector.raised(t). (A daemon that knows
  // the raw conditions may call it after the first sample instead.) Until
  // then the book waits: a raise Finding for a restored alarm confirms it (the
  // same alarm goes on, nothing is notified) and a clear Finding clears it the
  // usual way. Here, each restored alarm of the car that was active and has
  // had no Finding since the start is confirmed if its type is listed, or
  // else closed with the note kClearedWhileDownNote, acknowledged or not
  // (faults.md). Listed types without an open alarm are left to the
  // detectors' raise Findings. Calling it again for the car does nothing. A
  // car that does not answer after the start is reconciled once it has.
  Update ReconcileAfterRestart(const std::string& elevator,
                               const std::vector<AlarmType>& active_now, WallTime now);
  // Cars with restored active alarms still awaiting ReconcileAfterRestart.
  std::vector<std::string> AwaitingReconcile() const;

  // --- Events ------------------------------------------------------------
  // A detector's Finding for a car. `suppression`: what suppresses this type
  // on this car now, if anything: rules::SuppressionFor(finding.type, latest
  // sample, in a maintenance window) (a cause that does not suppress the type
  // under IsSuppressible is ignored). The time is finding.wall_at. A raise
  // for a car and type with an open alarm does not make a second one; a clear
  // without an active alarm does nothing.
  Update OnFinding(const std::string& elevator, const Finding& finding,
                   std::optional<SuppressionCause> suppression);

  // What may suppress an alarm type on a car now, e.g.
  // [&](AlarmType t) { return rules::SuppressionFor(t, latest, in_window); }
  using SuppressionOf = std::function<std::optional<SuppressionCause>(AlarmType)>;
  // Call when the car's mode changes or a maintenance window of it begins or
  // ends (calling it when nothing changed is harmless). Its suppressed alarms
  // that nothing suppresses any more, still active, become unack and are
  // notified; those still suppressed for another reason take the new
  // reason. Open alarms that are not suppressed are left alone: suppression
  // applies to alarms raised while it holds.
  Update OnSuppressionChanged(const std::string& elevator, const SuppressionOf& suppression_of,
                              WallTime now);

  // Shelve expiry, end of chattering, flood end and the digest.
  Update OnTime(WallTime now);

  // --- Operator actions (refused with an Error saying why) -----------------
  // unack -> acked, rtn_unack -> closed, shelved stays shelved (closed if the
  // condition has cleared). Refused: unknown/closed id, empty `who`,
  // suppressed, already acknowledged.
  Result<Transition> Ack(AlarmId id, const std::string& who, const std::string& note, WallTime now);
  // Refused: unknown/closed id, empty `who` or `reason`, a type faults.md
  // forbids shelving (IsShelvable), suppressed, already shelved, `until` not
  // after `now`, or more than Options::max_shelve after `now`.
  Result<Transition> Shelve(AlarmId id, const std::string& who, const std::string& reason,
                            WallTime until, WallTime now);
  // Back to the real state before the expiry. Refused unless shelved.
  Result<Transition> Unshelve(AlarmId id, const std::string& who, const std::string& note,
                              WallTime now);
  // Closes every open alarm of a car (it has left the configuration).
  Update CloseAllFor(const std::string& elevator, const std::string& who, const std::string& note,
                     WallTime now);
  // Empties the pending digest now (e.g. before a clean shutdown).
  std::optional<Digest> TakeDigest(WallTime now);

  // --- Queries ------------------------------------------------------------
  std::optional<Alarm> Get(AlarmId id) const;
  std::optional<Alarm> OpenFor(const std::string& elevator, AlarmType type) const;
  std::vector<Alarm> Open() const;  // every open alarm, by id
  std::vector<Alarm> OpenFor(const std::string& elevator) const;
  AlarmCounts Counts() const;
  bool flood() const { return flood_; }
  bool chattering(const std::string& elevator, AlarmType type) const;
  size_t pending_digest() const { return pending_.size(); }
  AlarmId next_id() const { return next_id_; }

 private:
  struct Key {
    std::string elevator;
    AlarmType type;
    bool operator==(const Key& o) const { return type == o.type && elevator == o.elevator; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return std::hash<std::string>()(k.elevator) * 31 + static_cast<size_t>(k.type);
    }
  };
  // Per car and type, across alarm instances.
  struct Chatter {
    std::deque<WallTime> clears;  // within chatter_window_s
    WallTime last_change{};       // latest raise or clear
    std::optional<WallTime> last_notified;
    bool chattering = false;
  };

  const RulesConfig& RulesFor(const std::string& elevator) const;
  Alarm* FindOpen(AlarmId id);
  Error NotOpen(AlarmId id, std::string_view action) const;
  Transition Make(Alarm& a, std::optional<AlarmState> from, TransitionKind kind, WallTime at,
                  std::string_view who, std::string note);
  void Decide(Transition& t, WallTime now);
  void CountNew(WallTime now, Update& u);
  void Erase(const Alarm& a);
  void MaybeEndChatter(const Key& key, WallTime now, Update& u);
  void Raise(const Key& key, const Finding& f, std::optional<SuppressionCause> cause, Update& u);
  void Clear(const Key& key, WallTime now, Update& u);
  Transition ReturnFromShelf(Alarm& a, TransitionKind kind, std::string_view who, std::string note,
                             WallTime now);
  void Prune(WallTime now);

  RulesConfig site_;
  Options options_;
  std::unordered_map<std::string, RulesConfig> per_elevator_;

  AlarmId next_id_ = 1;
  std::unordered_map<AlarmId, Alarm> open_;
  std::unordered_map<Key, AlarmId, KeyHash> by_key_;
  std::set<std::pair<WallTime, AlarmId>> shelf_;  // by expiry
  std::unordered_set<AlarmId> awaiting_reconcile_;

  std::unordered_map<Key, Chatter, KeyHash> chatter_;
  std::unordered_set<Key, KeyHash> chattering_keys_;
  WallTime last_prune_{};

  std::deque<WallTime> new_alarms_;  // site-wide, within flood_window_s
  bool flood_ = false;
  WallTime next_digest_at_{};
  std::vector<Transition> pending_;

  std::array<uint64_t, 3> suppressed_raised_{};
  uint64_t raised_ = 0;
  uint64_t closed_ = 0;
};

}  // namespace lg::rules
