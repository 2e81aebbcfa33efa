// CarModel: one simulated elevator car of the liftsim simulator, as the
// registers of the `ref-1` map (shared/spec/register-map.md) show it. The
// field values are the same whatever map a link serves (CarState::ToSample
// gives them to RegisterMap::Encode).
//
// The model is pure: it never reads a clock, it is told the time
// (CLOCK_MONOTONIC nanoseconds) on every call that can change it, and its
// randomness comes from a seeded generator of its own. The same config, seed
// and call sequence give the same registers.
//
// What a car serves is built in three layers, later layers winning field by
// field:
//   1. its own motion: random calls, trips (trapezoid speed profile below
//      rated speed, door_zone only within 150 mm of a floor), doors opening
//      and closing, passengers (load, occupied), trips / door_cycles /
//      run_hours counters, heartbeat +1 every 200 ms. With `is_static` the
//      car never moves by itself: it stands at a floor in auto, door closed,
//      in the door zone, empty, every ok bit set; only the heartbeat moves.
//   2. conditions (faults.md, plus the modes), in the order they were
//      switched on. A condition puts the car in a state that makes the
//      detector's raise condition true and holds it (own motion is frozen);
//      switching the last one off parks the car at the nearest floor in
//      normal service.
//   3. overrides (`set`): a field keeps the given value until released.
//
// Thread-safety: none; a CarModel belongs to one thread (the simulator's
// event loop, or a test).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/sample.h"

namespace lg::sim {

inline constexpr int kInputRegisterCount = 13;  // input registers 0..12
inline constexpr int kHoldingBase = 100;        // holding registers 100..110
inline constexpr int kHoldingRegisterCount = 11;
inline constexpr int kModelChars = 16;
inline constexpr int64_t kHeartbeatPeriodNs = 200'000'000;
inline constexpr int kDefaultControllerFaultCode = 35;

struct Registers {
  std::array<uint16_t, kInputRegisterCount> input{};
  std::array<uint16_t, kHoldingRegisterCount> holding{};
};

// The conditions of faults.md that `fault CAR NAME on|off` can put a car in,
// and the modes.
enum class Condition : uint8_t {
  kTrappedBetweenFloors,
  kTrappedAtFloor,
  kTrappedAlarmButton,
  kTrappedPowerLoss,
  kDoorOpenWhileMoving,
  kUcm,
  kOverspeed,
  kTopOverrun,
  kBottomOverrun,
  kStopOutsideDoorZone,
  kSafetyCircuitOpen,
  kDoorLockFault,
  kPowerFailure,
  kBrakeFault,
  kControllerFault,
  kDoorOpenTooLong,
  kAlarmButton,
  kCommsLost,         // the unit stops answering (the server asks answering())
  kControllerFrozen,  // the heartbeat stops
  kInspection,
  kFireService,
  kOutOfService,
  kEmergencyPower,
  kCount
};
inline constexpr int kConditionCount = static_cast<int>(Condition::kCount);

std::optional<Condition> ConditionFromName(std::string_view name);
std::string_view ConditionName(Condition c);

// Allowed range of a field's value (flags 0..1, int16, uint16, uint32).
// kModel is text and has no numeric range (returns false).
bool FieldRange(Field f, int64_t* lo, int64_t* hi);

struct CarConfig {
  int bottom_floor = 0;
  int top_floor = 9;
  int rated_speed_mm_s = 1750;
  int floor_height_mm = 3000;
  bool is_static = false;
  uint64_t seed = 1;  // the car's own generator; mix in the car's identity
  int unit = 1;       // placement and counters of a static car
  std::string model = "LIFTSIM-1";
};

// Every field of the register map, decoded: flags 0/1, numbers as integers.
struct CarState {
  std::array<int64_t, kFieldCount> value{};  // indexed by Field; kModel unused
  std::array<char, kModelChars> model{};     // NUL padded

  int64_t Get(Field f) const { return value[static_cast<int>(f)]; }
  void Set(Field f, int64_t v) { value[static_cast<int>(f)] = v; }
  std::string ModelText() const;
  // The registers as served (register-map.md layout).
  void Encode(Registers* out) const;
  // The same values as the daemon's decoder gives them, to be encoded with
  // any register map (RegisterMap::Encode): every polled field into
  // `sample` (its times are left alone), rated speed, floors and model into
  // `info`. Reuses the storage of both, so it does not allocate in a loop.
  void ToSample(Sample& sample, ControllerInfo& info) const;
};

class CarModel {
 public:
  CarModel(const CarConfig& config, int64_t now_ns);

  // Moves the car's own motion and heartbeat forward to now_ns. Times that
  // are not later than the last one are ignored.
  void Advance(int64_t now_ns);

  // What the car serves at the time of the last Advance().
  CarState State() const;
  void Encode(Registers* out) const { State().Encode(out); }

  // Overrides (layer 3). The value must be in FieldRange(); kModel is set
  // with SetModelOverride (at most 16 characters).
  void SetOverride(Field f, int64_t value);
  void SetModelOverride(std::string_view text);
  void Release(Field f);
  void ReleaseAll();

  // Switches a condition on or off at now_ns. `fault_code` is the code
  // served by kControllerFault. Switching a condition on again re-applies it
  // (and makes it the latest). Off for a condition that is not on does
  // nothing.
  void SetCondition(Condition c, bool on, int64_t now_ns,
                    int fault_code = kDefaultControllerFaultCode);
  bool ConditionOn(Condition c) const;
  // False while kCommsLost is on.
  bool answering() const { return !ConditionOn(Condition::kCommsLost); }

  // Freezes / unfreezes the car's own motion (the heartbeat keeps going).
  void SetPaused(bool paused, int64_t now_ns);
  bool paused() const { return paused_; }

  const CarConfig& config() const { return config_; }
  // Speed of a normal trip, below rated speed.
  int cruise_speed_mm_s() const { return cruise_mm_s_; }

 private:
  enum class Phase : uint8_t { kIdle, kDoorOpening, kDoorOpen, kDoorClosing, kMoving };

  struct Patch {
    uint64_t mask = 0;
    std::array<int64_t, kFieldCount> value{};
    void Set(Field f, int64_t v) {
      mask |= uint64_t{1} << static_cast<int>(f);
      value[static_cast<int>(f)] = v;
    }
    bool Has(Field f) const { return (mask >> static_cast<int>(f)) & 1; }
  };
  struct Active {
    Condition condition;
    Patch patch;
  };

  CarState NaturalState() const;
  Patch Recipe(Condition c, const CarState& natural, int fault_code) const;
  bool Frozen() const;
  bool MotionHeld() const;  // a condition that holds the car is on
  void OnPhaseEnd(int64_t at);
  void StartIdle(int64_t at);
  void StartDoorOpening(int64_t at);
  void StartTrip(int to_floor, int64_t at);
  void Park(int64_t at);
  double PositionMm() const;  // at t_
  int SpeedMmS() const;       // at t_
  int NearestFloor(double pos_mm) const;
  int RandomFloorOtherThan(int floor);
  int64_t RandomBetween(int64_t lo, int64_t hi);  // inclusive
  double RandomUnit();
  uint16_t HeartbeatAt(int64_t t) const;

  CarConfig config_;
  int cruise_mm_s_ = 1000;
  uint64_t rng_;
  int64_t t_;  // last Advance

  // Own motion.
  Phase phase_ = Phase::kIdle;
  int64_t phase_start_ = 0;
  int64_t phase_end_ = 0;  // kNever while it lasts for ever
  double pos_mm_ = 0;      // at rest; the trip's start while moving
  double to_mm_ = 0;       // trip end
  double trip_v_peak_ = 0, trip_t_acc_ = 0, trip_total_ = 0;  // mm/s, s, s
  int load_ = 0;
  uint32_t trips_ = 0;
  uint32_t door_cycles_ = 0;
  uint32_t run_hours_base_ = 0;
  int64_t run_ns_ = 0;  // completed trips' running time since start
  uint16_t hb_base_ = 0;
  int64_t hb_t0_ = 0;
  bool paused_ = false;

  std::vector<Active> active_;  // in switch-on order
  Patch overrides_;
  std::optional<std::array<char, kModelChars>> model_override_;
};

}  // namespace lg::sim
