#include "rules/detector.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <string_view>
#include <utility>

namespace lg::rules {
namespace {

using Dur = SteadyTime::duration;
using Mask = std::bitset<kFieldCount>;

Mask MaskOf(std::initializer_list<Field> fields) {
  Mask m;
  for (Field f : fields) m.set(static_cast<int>(f));
  return m;
}

bool HasAll(const Sample& s, const Mask& need) { return (s.present & need) == need; }

Dur Seconds(int s) { return std::chrono::seconds(std::max(0, s)); }

// "30 s", "1.5 s".
std::string SecondsText(Dur d) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%g s", std::chrono::duration<double>(d).count());
  return buf;
}

std::string NumberText(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// " at floor 3" (" near floor 3" outside the door zone, where `floor` is the
// last floor passed), or nothing when the map gives no floor.
std::string FloorText(const Sample& s, std::string_view preposition = "at") {
  if (!s.Has(Field::kFloor)) return {};
  return " " + std::string(preposition) + " floor " + std::to_string(s.floor());
}

// "the safety circuit closed for 3 s" / "... closed" when the clear time is 0.
std::string ForText(std::string_view what, Dur after) {
  std::string m(what);
  if (after > Dur::zero()) m += " for " + SecondsText(after);
  return m;
}

// "map lacks field 'occupied'" / "map lacks fields 'occupied', 'door_zone'";
// empty when nothing is missing.
std::string MissingText(const Mask& need, const Mask& provided) {
  Mask missing = need & ~provided;
  if (missing.none()) return {};
  std::string names;
  for (int i = 0; i < kFieldCount; ++i) {
    if (!missing.test(i)) continue;
    if (!names.empty()) names += ", ";
    names += "'";
    names += FieldName(static_cast<Field>(i));
    names += "'";
  }
  return (missing.count() == 1 ? "map lacks field " : "map lacks fields ") + names;
}

constexpr Dur kSampleJitter = std::chrono::milliseconds(25);

// Time a condition has held over consecutive samples.
class Timer {
 public:
  // `cond` is the condition in this sample, `dt` the time since the previous
  // sample that counts (zero across a link outage).
  void Step(bool cond, Dur dt) {
    if (!cond) {
      Reset();
    } else if (running_) {
      held_ += dt;
    } else {
      running_ = true;
      held_ = Dur::zero();
    }
  }
  // Starts afresh at this sample: running iff `cond` holds now.
  void Restart(bool cond) {
    running_ = cond;
    held_ = Dur::zero();
  }
  void Reset() { Restart(false); }
  // A sample counts as at T when it is within kSampleJitter of it. Polls run
  // on the engine's 10 ms tick and replies vary by a few milliseconds, so a
  // threshold that is a whole number of poll intervals (30 s at 500 ms)
  // would otherwise be met or missed by that jitter, and a miss costs a full
  // interval.
  bool Reached(Dur t) const {
    return running_ && (t <= Dur::zero() ? true : held_ + kSampleJitter >= t);
  }

 private:
  bool running_ = false;
  Dur held_{};
};

enum Path : int { kBetweenFloors, kAtFloor, kButtonPath, kPowerLoss, kPathCount };
constexpr std::array<std::string_view, kPathCount> kPathName = {"between_floors", "at_floor",
                                                                "alarm_button", "power_loss"};

struct Rule {
  bool enabled = false;
  bool raised = false;
  Mask need;  // fields the rule reads; a sample lacking one proves nothing
  Timer raise;
  Timer clear;
  Severity severity = Severity::kMajor;  // of the raised finding
  std::string subtype;                   // of the raised finding
};

constexpr int Idx(AlarmType t) { return static_cast<int>(t); }

// Fault codes are integers; a float map could give anything.
int64_t CodeOf(double v) {
  if (!(v > 0) && !(v < 0)) return 0;  // 0 (NaN cannot reach here: absent)
  v = std::clamp(v, -2147483648.0, 4294967295.0);
  return std::llround(v);
}

}  // namespace

struct CarDetector::Impl {
  CarProfile profile;
  RulesConfig cfg;
  Dur comms_lost_after;

  std::array<Rule, kAlarmTypeCount> rules;
  std::vector<DisabledRule> disabled;

  // TRAPPED's paths.
  std::array<bool, kPathCount> path_enabled{};
  std::array<Mask, kPathCount> path_need;
  std::array<Dur, kPathCount> path_after{};
  std::array<Timer, kPathCount> path_timer;
  Mask trapped_clear_need = MaskOf({Field::kMoving, Field::kDoorClosed});

  // OVERSPEED
  int rated = 0;
  double overspeed_above = 0;
  double overspeed_below = 0;
  std::string overspeed_clear_text;  // built once: OnSample must not allocate

  // ALARM_BUTTON
  bool prev_button = false;
  // CONTROLLER_FROZEN
  bool have_hb = false;
  double prev_hb = 0;
  // CONTROLLER_FAULT
  int64_t prev_code = 0;
  int64_t raised_code = 0;
  Timer same_code;

  // Time.
  bool have_prev_sample = false;
  SteadyTime prev_read_at{};
  SteadyTime last_reply;
  Dur dt{};  // what the current sample adds to running timers

  Impl(CarProfile p, RulesConfig c, SteadyTime created, int comms_lost_after_ms)
      : profile(std::move(p)),
        cfg(c),
        comms_lost_after(Millis(std::max(0, comms_lost_after_ms))),
        last_reply(created) {
    using F = Field;
    auto need = [&](AlarmType t, std::initializer_list<Field> fields) {
      rules[Idx(t)].need = MaskOf(fields);
    };
    need(AlarmType::kDoorOpenWhileMoving, {F::kMoving, F::kDoorClosed});
    need(AlarmType::kUcm, {F::kUcm});
    need(AlarmType::kOverspeed, {F::kSpeed});
    need(AlarmType::kTopOverrun, {F::kTopLimit});
    need(AlarmType::kBottomOverrun, {F::kBottomLimit});
    need(AlarmType::kStopOutsideDoorZone, {F::kAuto, F::kMoving, F::kDoorZone});
    need(AlarmType::kSafetyCircuitOpen, {F::kSafetyChainOk});
    need(AlarmType::kDoorLockFault, {F::kDoorLockOk, F::kMoving, F::kDoorClosed});
    need(AlarmType::kPowerFailure, {F::kMainPowerOk});
    need(AlarmType::kBrakeFault, {F::kBrakeFault});
    need(AlarmType::kControllerFault, {F::kFaultCode});
    need(AlarmType::kDoorOpenTooLong, {F::kAuto, F::kDoorOpen, F::kDoorClosed});
    need(AlarmType::kAlarmButton, {F::kAlarmButton});
    need(AlarmType::kControllerFrozen, {F::kHeartbeat});
    // COMMS_LOST reads no field; TRAPPED is per path.

    path_need[kBetweenFloors] =
        MaskOf({F::kAuto, F::kMoving, F::kDoorClosed, F::kOccupied, F::kDoorZone});
    path_need[kAtFloor] = path_need[kBetweenFloors];
    path_need[kButtonPath] = MaskOf({F::kAlarmButton, F::kMoving, F::kDoorClosed});
    // Moving and door_closed are what clears TRAPPED.
    path_need[kPowerLoss] =
        MaskOf({F::kMainPowerOk, F::kOccupied, F::kDoorZone, F::kMoving, F::kDoorClosed});
    path_after[kBetweenFloors] = Seconds(cfg.trapped_between_floors_s);
    path_after[kAtFloor] = Seconds(cfg.trapped_at_floor_s);
    path_after[kButtonPath] = Seconds(cfg.trapped_alarm_button_s);
    path_after[kPowerLoss] = Seconds(cfg.trapped_power_loss_s);

    for (int i = 0; i < kAlarmTypeCount; ++i) {
      rules[i].enabled = (rules[i].need & ~profile.provided).none();
    }
    bool any_path = false;
    for (int p = 0; p < kPathCount; ++p) {
      path_enabled[p] = (path_need[p] & ~profile.provided).none();
      any_path = any_path || path_enabled[p];
    }
    rules[Idx(AlarmType::kTrapped)].enabled = any_path;
    // CHANNEL_DOWN and the compliance types are raised by the daemon, never
    // from a car's samples.
    for (int i = 0; i < kAlarmTypeCount; ++i) {
      if (!IsCarAlarm(static_cast<AlarmType>(i))) rules[i].enabled = false;
    }
    if (profile.rated_speed_mm_s && *profile.rated_speed_mm_s > 0) {
      SetRated(*profile.rated_speed_mm_s);
    } else {
      rules[Idx(AlarmType::kOverspeed)].enabled = false;
    }
    BuildDisabled();
  }

  Rule& R(AlarmType t) { return rules[Idx(t)]; }

  void SetRated(int mm_s) {
    rated = mm_s;
    overspeed_above = cfg.overspeed_factor * mm_s;
    overspeed_below = cfg.overspeed_clear_factor * mm_s;
    overspeed_clear_text = "speed below " + NumberText(cfg.overspeed_clear_factor) +
                           " x rated speed " + std::to_string(mm_s) + " mm/s";
    R(AlarmType::kOverspeed).enabled = profile.provided.test(static_cast<int>(Field::kSpeed));
  }

  void BuildDisabled() {
    disabled.clear();
    for (int i = 0; i < kAlarmTypeCount; ++i) {
      auto t = static_cast<AlarmType>(i);
      if (t == AlarmType::kTrapped) {
        for (int p = 0; p < kPathCount; ++p) {
          if (path_enabled[p]) continue;
          disabled.push_back(
              {t, std::string(kPathName[p]), MissingText(path_need[p], profile.provided)});
        }
        continue;
      }
      if (rules[i].enabled || !IsCarAlarm(t)) continue;
      std::string reason = MissingText(rules[i].need, profile.provided);
      if (t == AlarmType::kOverspeed && rated <= 0) {
        if (!reason.empty()) reason += "; ";
        reason +=
            "no rated speed (set rated_speed_mm_s for the elevator, or a map whose controller "
            "reports rated_speed)";
      }
      disabled.push_back({t, "", std::move(reason)});
    }
  }

  void Emit(AlarmType t, bool active, std::string message, SteadyTime at, WallTime wall,
            std::vector<Finding>& out) {
    Rule& r = R(t);
    r.raised = active;
    Finding f;
    f.type = t;
    f.active = active;
    f.severity = r.severity;
    f.subtype = r.subtype;
    f.message = std::move(message);
    f.at = at;
    f.wall_at = wall;
    out.push_back(std::move(f));
  }

  void Raise(AlarmType t, Severity severity, std::string subtype, std::string message,
             const Sample& s, std::vector<Finding>& out) {
    Rule& r = R(t);
    r.severity = severity;
    r.subtype = std::move(subtype);
    Emit(t, true, std::move(message), s.read_at, s.wall_at, out);
  }

  void Clear(AlarmType t, std::string message, const Sample& s, std::vector<Finding>& out) {
    Emit(t, false, std::move(message), s.read_at, s.wall_at, out);
  }

  // The common shape: raise once `raise_cond` held `raise_after` (or at once
  // when `raise_now`), clear once `clear_cond` held `clear_after`.
  template <typename RaiseMessage>
  void Simple(AlarmType t, const Sample& s, bool raise_cond, bool raise_now, Dur raise_after,
              bool clear_cond, Dur clear_after, RaiseMessage&& raise_message,
              std::string_view clear_what, std::vector<Finding>& out) {
    Rule& r = R(t);
    if (!r.enabled) return;
    if (!HasAll(s, r.need)) {
      r.raise.Reset();
      r.clear.Reset();
      return;
    }
    r.raise.Step(raise_cond, dt);
    r.clear.Step(clear_cond, dt);
    if (!r.raised) {
      if (raise_now || r.raise.Reached(raise_after)) {
        Raise(t, DefaultSeverity(t), "", raise_message(), s, out);
        r.clear.Restart(clear_cond);
      }
    } else if (r.clear.Reached(clear_after)) {
      Clear(t, ForText(clear_what, clear_after), s, out);
      r.raise.Restart(raise_cond);
    }
  }

  void OnSample(const Sample& s, std::vector<Finding>& out) {
    dt = Dur::zero();
    if (have_prev_sample && s.read_at > prev_read_at && !R(AlarmType::kCommsLost).raised) {
      Dur gap = s.read_at - prev_read_at;
      if (gap < comms_lost_after) dt = gap;
    }
    if (!have_prev_sample || s.read_at > prev_read_at) prev_read_at = s.read_at;
    have_prev_sample = true;
    if (s.read_at > last_reply) last_reply = s.read_at;
    if (R(AlarmType::kCommsLost).raised) {
      Clear(AlarmType::kCommsLost, "valid reply received", s, out);
    }

    const auto F = [&s](Field f) { return s.Flag(f); };
    const Dur clear_after = Seconds(cfg.clear_s);
    const bool moving = F(Field::kMoving);
    const bool closed = F(Field::kDoorClosed);

    Trapped(s, out);

    {
      bool cond = moving && !closed;
      Simple(
          AlarmType::kDoorOpenWhileMoving, s, cond, false, Seconds(cfg.door_open_while_moving_s),
          !cond, clear_after,
          [&] {
            return "car moving with the door not closed for " +
                   SecondsText(Seconds(cfg.door_open_while_moving_s)) + FloorText(s);
          },
          "door closed or car stopped", out);
    }
    Simple(
        AlarmType::kUcm, s, F(Field::kUcm), false, Dur::zero(), !F(Field::kUcm), clear_after,
        [&] { return "unintended car movement detected" + FloorText(s); }, "UCM signal clear", out);
    {
      double speed = s.Number(Field::kSpeed);
      Simple(
          AlarmType::kOverspeed, s, speed > overspeed_above, false, Seconds(cfg.overspeed_s),
          speed < overspeed_below, clear_after,
          [&] {
            return "speed " + NumberText(speed) + " mm/s above " +
                   NumberText(cfg.overspeed_factor) + " x rated speed " + std::to_string(rated) +
                   " mm/s for " + SecondsText(Seconds(cfg.overspeed_s));
          },
          overspeed_clear_text, out);
    }
    Simple(
        AlarmType::kTopOverrun, s, F(Field::kTopLimit), false, Dur::zero(), !F(Field::kTopLimit),
        clear_after, [&] { return std::string("upper final limit switch tripped"); },
        "upper final limit switch reset", out);
    Simple(
        AlarmType::kBottomOverrun, s, F(Field::kBottomLimit), false, Dur::zero(),
        !F(Field::kBottomLimit), clear_after,
        [&] { return std::string("lower final limit switch tripped"); },
        "lower final limit switch reset", out);
    {
      bool zone = F(Field::kDoorZone);
      Simple(
          AlarmType::kStopOutsideDoorZone, s, F(Field::kAuto) && !moving && !zone, false,
          Seconds(cfg.stop_outside_door_zone_s), zone || moving, clear_after,
          [&] {
            return "stopped outside the door zone in automatic service for " +
                   SecondsText(Seconds(cfg.stop_outside_door_zone_s)) + FloorText(s, "near");
          },
          "in the door zone or moving", out);
    }
    {
      bool ok = F(Field::kSafetyChainOk);
      Simple(
          AlarmType::kSafetyCircuitOpen, s, !ok, false, Seconds(cfg.safety_circuit_open_s), ok,
          clear_after,
          [&] {
            return "safety circuit open for " + SecondsText(Seconds(cfg.safety_circuit_open_s)) +
                   FloorText(s);
          },
          "safety circuit closed", out);
    }
    {
      bool ok = F(Field::kDoorLockOk);
      Simple(
          AlarmType::kDoorLockFault, s, !ok && (moving || closed), !ok && moving,
          Seconds(cfg.door_lock_fault_s), ok, clear_after,
          [&] {
            return moving ? "door lock circuit open while moving" + FloorText(s)
                          : "door lock circuit open with the door closed for " +
                                SecondsText(Seconds(cfg.door_lock_fault_s)) + FloorText(s);
          },
          "door lock circuit closed", out);
    }
    {
      bool ok = F(Field::kMainPowerOk);
      Simple(
          AlarmType::kPowerFailure, s, !ok, false, Seconds(cfg.power_failure_s), ok, clear_after,
          [&] { return "mains power lost for " + SecondsText(Seconds(cfg.power_failure_s)); },
          "mains power back", out);
    }
    Simple(
        AlarmType::kBrakeFault, s, F(Field::kBrakeFault), false, Seconds(cfg.brake_fault_s),
        !F(Field::kBrakeFault), clear_after,
        [&] { return "brake monitoring fault for " + SecondsText(Seconds(cfg.brake_fault_s)); },
        "brake monitoring clear", out);
    ControllerFault(s, out);
    Simple(
        AlarmType::kDoorOpenTooLong, s, F(Field::kAuto) && F(Field::kDoorOpen), false,
        Seconds(cfg.door_open_too_long_s), closed, Dur::zero(),
        [&] {
          return "door open in automatic service for " +
                 SecondsText(Seconds(cfg.door_open_too_long_s)) + FloorText(s);
        },
        "door closed", out);
    AlarmButton(s, out);
    Frozen(s, out);
  }

  void Trapped(const Sample& s, std::vector<Finding>& out) {
    Rule& r = R(AlarmType::kTrapped);
    if (!r.enabled) return;
    const auto F = [&s](Field f) { return s.Flag(f); };
    const bool moving = F(Field::kMoving);
    const bool closed = F(Field::kDoorClosed);
    const bool zone = F(Field::kDoorZone);
    const bool occupied = F(Field::kOccupied);
    const bool base = F(Field::kAuto) && !moving && closed && occupied;
    std::array<bool, kPathCount> cond{};
    cond[kBetweenFloors] = base && !zone;
    cond[kAtFloor] = base && zone;
    cond[kButtonPath] = F(Field::kAlarmButton) && !moving && closed;
    // faults.md's power-loss path names no door or motion, but TRAPPED
    // clears when the car moves or the door opens: a path that held then
    // would raise and clear in turn. Like the other paths it needs the car
    // stopped with the door closed.
    cond[kPowerLoss] = !F(Field::kMainPowerOk) && occupied && !zone && !moving && closed;
    std::array<bool, kPathCount> known{};
    for (int p = 0; p < kPathCount; ++p) {
      if (!path_enabled[p]) continue;
      known[p] = HasAll(s, path_need[p]);
      if (known[p]) {
        path_timer[p].Step(cond[p], dt);
      } else {
        path_timer[p].Reset();
      }
    }
    const bool clear_known = HasAll(s, trapped_clear_need);
    const bool clear_cond = clear_known && (moving || !closed || F(Field::kDoorOpen));
    if (clear_known) {
      r.clear.Step(clear_cond, dt);
    } else {
      r.clear.Reset();
    }

    if (!r.raised) {
      for (int p = 0; p < kPathCount; ++p) {
        if (!path_enabled[p] || !path_timer[p].Reached(path_after[p])) continue;
        Raise(AlarmType::kTrapped, DefaultSeverity(AlarmType::kTrapped), std::string(kPathName[p]),
              TrappedMessage(static_cast<Path>(p), s), s, out);
        r.clear.Restart(clear_cond);
        break;
      }
    } else if (r.clear.Reached(Seconds(cfg.clear_s))) {
      Clear(AlarmType::kTrapped, ForText("car moving or door open", Seconds(cfg.clear_s)), s, out);
      for (int p = 0; p < kPathCount; ++p) path_timer[p].Restart(known[p] && cond[p]);
    }
  }

  std::string TrappedMessage(Path p, const Sample& s) const {
    std::string after = SecondsText(path_after[p]);
    switch (p) {
      case kBetweenFloors:
        return "passenger trapped between floors" + FloorText(s, "near") +
               ": stopped outside the door zone with the door closed for " + after;
      case kAtFloor:
        return "passenger trapped" + FloorText(s) +
               ": stopped in the door zone with the door closed for " + after;
      case kButtonPath:
        return "alarm button pressed" + FloorText(s) +
               " with the car stopped and the door closed for " + after;
      case kPowerLoss:
      case kPathCount:
        break;
    }
    return "mains power lost with a passenger in the car outside the door zone" +
           FloorText(s, "near") + " for " + after;
  }

  std::string FaultMessage(int64_t code, Severity& severity) const {
    severity = DefaultSeverity(AlarmType::kControllerFault);
    std::string m = "E" + std::to_string(code) + ": ";
    if (!profile.fault_text) return m + "controller fault (no fault table for this make)";
    std::optional<FaultInfo> info;
    if (code > 0 && code <= 4294967295LL) info = profile.fault_text(static_cast<uint32_t>(code));
    if (!info) return m + "controller fault (code not in the make's fault table)";
    severity = info->severity;
    return m + info->text;
  }

  void RaiseFault(int64_t code, const Sample& s, std::vector<Finding>& out) {
    Severity severity;
    std::string message = FaultMessage(code, severity);
    raised_code = code;
    Raise(AlarmType::kControllerFault, severity, std::to_string(code), std::move(message), s, out);
  }

  void ControllerFault(const Sample& s, std::vector<Finding>& out) {
    Rule& r = R(AlarmType::kControllerFault);
    if (!r.enabled) return;
    if (!s.Has(Field::kFaultCode)) {
      r.raise.Reset();
      r.clear.Reset();
      same_code.Reset();
      return;
    }
    const int64_t code = CodeOf(s.Number(Field::kFaultCode));
    const bool nonzero = code != 0;
    r.raise.Step(nonzero, dt);
    r.clear.Step(!nonzero, dt);
    if (nonzero && code == prev_code) {
      same_code.Step(true, dt);
    } else {
      same_code.Restart(nonzero);
    }
    prev_code = code;
    const Dur after = Seconds(cfg.controller_fault_s);
    if (!r.raised) {
      if (r.raise.Reached(after)) {
        RaiseFault(code, s, out);
        r.clear.Reset();
      }
    } else if (nonzero && code != raised_code && same_code.Reached(after)) {
      Clear(AlarmType::kControllerFault,
            "E" + std::to_string(raised_code) + " ended: the controller now reports E" +
                std::to_string(code),
            s, out);
      RaiseFault(code, s, out);
    } else if (r.clear.Reached(Seconds(cfg.clear_s))) {
      Clear(AlarmType::kControllerFault, ForText("fault code 0", Seconds(cfg.clear_s)), s, out);
      r.raise.Reset();
    }
  }

  void AlarmButton(const Sample& s, std::vector<Finding>& out) {
    Rule& r = R(AlarmType::kAlarmButton);
    if (!r.enabled || !s.Has(Field::kAlarmButton)) return;
    const bool pressed = s.Flag(Field::kAlarmButton);
    if (!r.raised && pressed && !prev_button) {
      Raise(AlarmType::kAlarmButton, DefaultSeverity(AlarmType::kAlarmButton), "",
            "emergency alarm button pressed" + FloorText(s), s, out);
    } else if (r.raised && !pressed) {
      Clear(AlarmType::kAlarmButton, "alarm button released", s, out);
    }
    prev_button = pressed;
  }

  void Frozen(const Sample& s, std::vector<Finding>& out) {
    Rule& r = R(AlarmType::kControllerFrozen);
    if (!r.enabled) return;
    if (!s.Has(Field::kHeartbeat)) {
      r.raise.Reset();
      return;
    }
    const double hb = s.Number(Field::kHeartbeat);
    const bool same = have_hb && hb == prev_hb;
    if (same) {
      r.raise.Step(true, dt);
    } else {
      r.raise.Restart(true);
    }
    have_hb = true;
    prev_hb = hb;
    const Dur after = Seconds(cfg.controller_frozen_s);
    if (!r.raised) {
      if (r.raise.Reached(after)) {
        Raise(AlarmType::kControllerFrozen, DefaultSeverity(AlarmType::kControllerFrozen), "",
              "replies arrive but the heartbeat (" + NumberText(hb) + ") has not changed for " +
                  SecondsText(after),
              s, out);
      }
    } else if (!same) {
      Clear(AlarmType::kControllerFrozen, "heartbeat changed", s, out);
    }
  }

  void OnTime(SteadyTime now, WallTime wall, std::vector<Finding>& out) {
    Rule& r = R(AlarmType::kCommsLost);
    if (r.raised || now < last_reply || now - last_reply < comms_lost_after) return;
    r.severity = DefaultSeverity(AlarmType::kCommsLost);
    r.subtype.clear();
    Emit(AlarmType::kCommsLost, true,
         (have_prev_sample ? "no valid reply for " : "no valid reply since start, for ") +
             SecondsText(comms_lost_after),
         now, wall, out);
  }
};

std::bitset<kFieldCount> AllFields() {
  std::bitset<kFieldCount> all;
  all.set();
  return all;
}

CarDetector::CarDetector(CarProfile profile, RulesConfig thresholds, SteadyTime created,
                         int comms_lost_after_ms)
    : impl_(std::make_unique<Impl>(std::move(profile), thresholds, created, comms_lost_after_ms)) {}

CarDetector::~CarDetector() = default;
CarDetector::CarDetector(CarDetector&&) noexcept = default;
CarDetector& CarDetector::operator=(CarDetector&&) noexcept = default;

void CarDetector::OnSample(const Sample& s, std::vector<Finding>& out) { impl_->OnSample(s, out); }

void CarDetector::OnTime(SteadyTime now, WallTime wall, std::vector<Finding>& out) {
  impl_->OnTime(now, wall, out);
}

void CarDetector::SetRatedSpeed(int mm_s) {
  if (mm_s <= 0 || mm_s == impl_->rated) return;
  impl_->SetRated(mm_s);
  impl_->BuildDisabled();
}

const std::vector<DisabledRule>& CarDetector::disabled() const { return impl_->disabled; }

bool CarDetector::active(AlarmType t) const {
  int i = Idx(t);
  return i >= 0 && i < kAlarmTypeCount && impl_->rules[i].enabled;
}

bool CarDetector::raised(AlarmType t) const {
  int i = Idx(t);
  return i >= 0 && i < kAlarmTypeCount && impl_->rules[i].raised;
}

std::optional<SuppressionCause> SuppressionFor(const Sample& latest, bool in_maintenance_window) {
  if (latest.Flag(Field::kOutOfService)) return SuppressionCause::kOutOfService;
  if (latest.Flag(Field::kInspection)) return SuppressionCause::kInspection;
  if (in_maintenance_window) return SuppressionCause::kMaintenanceWindow;
  return std::nullopt;
}

std::optional<SuppressionCause> SuppressionFor(AlarmType t, const Sample& latest,
                                               bool in_maintenance_window) {
  if (latest.Flag(Field::kOutOfService) && IsSuppressible(t, SuppressionCause::kOutOfService)) {
    return SuppressionCause::kOutOfService;
  }
  if (latest.Flag(Field::kInspection) && IsSuppressible(t, SuppressionCause::kInspection)) {
    return SuppressionCause::kInspection;
  }
  if (in_maintenance_window && IsSuppressible(t, SuppressionCause::kMaintenanceWindow)) {
    return SuppressionCause::kMaintenanceWindow;
  }
  return std::nullopt;
}

}  // namespace lg::rules
