#include "drivers/sim/car_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace lg::sim {
namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr int64_t kSecond = 1'000'000'000;
constexpr double kAccelMmS2 = 600.0;
constexpr double kDoorZoneMm = 150.0;
constexpr int64_t kDoorMoveNs = 2 * kSecond;
constexpr int64_t kNsPerHour = 3600 * kSecond;

constexpr std::array<std::string_view, kConditionCount> kConditionNames = {
    "trapped_between_floors",
    "trapped_at_floor",
    "trapped_alarm_button",
    "trapped_power_loss",
    "door_open_while_moving",
    "ucm",
    "overspeed",
    "top_overrun",
    "bottom_overrun",
    "stop_outside_door_zone",
    "safety_circuit_open",
    "door_lock_fault",
    "power_failure",
    "brake_fault",
    "controller_fault",
    "door_open_too_long",
    "alarm_button",
    "comms_lost",
    "controller_frozen",
    "inspection",
    "fire_service",
    "out_of_service",
    "emergency_power",
};

uint64_t SplitMix(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::array<char, kModelChars> ModelChars(std::string_view text) {
  std::array<char, kModelChars> m{};
  std::memcpy(m.data(), text.data(), std::min<size_t>(text.size(), kModelChars));
  return m;
}

}  // namespace

std::optional<Condition> ConditionFromName(std::string_view name) {
  for (int i = 0; i < kConditionCount; ++i) {
    if (kConditionNames[i] == name) return static_cast<Condition>(i);
  }
  return std::nullopt;
}

std::string_view ConditionName(Condition c) {
  int i = static_cast<int>(c);
  return i >= 0 && i < kConditionCount ? kConditionNames[i] : "?";
}

bool FieldRange(Field f, int64_t* lo, int64_t* hi) {
  if (IsFlag(f)) {
    *lo = 0;
    *hi = 1;
    return true;
  }
  switch (f) {
    case Field::kFloor:
    case Field::kTopFloor:
    case Field::kBottomFloor:
      *lo = -32768;
      *hi = 32767;
      return true;
    case Field::kTrips:
    case Field::kDoorCycles:
    case Field::kRunHours:
      *lo = 0;
      *hi = 0xFFFFFFFFll;
      return true;
    case Field::kFaultCode:
    case Field::kSpeed:
    case Field::kLoad:
    case Field::kHeartbeat:
    case Field::kRatedSpeed:
      *lo = 0;
      *hi = 0xFFFF;
      return true;
    default:
      return false;
  }
}

std::string CarState::ModelText() const {
  size_t n = 0;
  while (n < model.size() && model[n] != '\0') ++n;
  return std::string(model.data(), n);
}

void CarState::ToSample(Sample& sample, ControllerInfo& info) const {
  sample.present.reset();
  sample.flags.reset();
  sample.numbers.fill(0);
  sample.model.clear();
  for (int i = 0; i < kFlagCount; ++i) sample.SetFlag(static_cast<Field>(i), value[i] != 0);
  for (int i = kFlagCount; i < static_cast<int>(Field::kRatedSpeed); ++i) {
    sample.SetNumber(static_cast<Field>(i), static_cast<double>(value[i]));
  }
  info.rated_speed_mm_s = static_cast<int>(Get(Field::kRatedSpeed));
  info.top_floor = static_cast<int>(Get(Field::kTopFloor));
  info.bottom_floor = static_cast<int>(Get(Field::kBottomFloor));
  size_t n = 0;
  while (n < model.size() && model[n] != '\0') ++n;
  info.model.assign(model.data(), n);
}

void CarState::Encode(Registers* out) const {
  uint16_t s1 = 0;
  for (int b = 0; b < 16; ++b) {
    if (value[b] != 0) s1 |= static_cast<uint16_t>(1u << b);
  }
  uint16_t s2 = 0;
  for (int b = 0; b < 5; ++b) {
    if (value[16 + b] != 0) s2 |= static_cast<uint16_t>(1u << b);
  }
  auto u16 = [](int64_t v) { return static_cast<uint16_t>(v & 0xFFFF); };
  auto hi = [](int64_t v) { return static_cast<uint16_t>((v >> 16) & 0xFFFF); };
  auto& in = out->input;
  in[0] = s1;
  in[1] = u16(Get(Field::kFloor));
  in[2] = u16(Get(Field::kFaultCode));
  in[3] = u16(Get(Field::kSpeed));
  in[4] = u16(Get(Field::kLoad));
  in[5] = hi(Get(Field::kTrips));
  in[6] = u16(Get(Field::kTrips));
  in[7] = hi(Get(Field::kDoorCycles));
  in[8] = u16(Get(Field::kDoorCycles));
  in[9] = hi(Get(Field::kRunHours));
  in[10] = u16(Get(Field::kRunHours));
  in[11] = u16(Get(Field::kHeartbeat));
  in[12] = s2;
  auto& ho = out->holding;
  ho[0] = u16(Get(Field::kRatedSpeed));
  ho[1] = u16(Get(Field::kTopFloor));
  ho[2] = u16(Get(Field::kBottomFloor));
  for (int i = 0; i < kModelChars / 2; ++i) {
    ho[3 + i] = static_cast<uint16_t>((static_cast<uint8_t>(model[2 * i]) << 8) |
                                      static_cast<uint8_t>(model[2 * i + 1]));
  }
}

CarModel::CarModel(const CarConfig& config, int64_t now_ns) : config_(config), t_(now_ns) {
  if (config_.top_floor < config_.bottom_floor) std::swap(config_.top_floor, config_.bottom_floor);
  if (config_.floor_height_mm <= 0) config_.floor_height_mm = 3000;
  if (config_.rated_speed_mm_s <= 0) config_.rated_speed_mm_s = 1750;
  cruise_mm_s_ = std::min(1000, config_.rated_speed_mm_s * 9 / 10);
  if (cruise_mm_s_ < 1) cruise_mm_s_ = 1;
  rng_ = config_.seed;
  SplitMix(rng_);
  hb_t0_ = now_ns;
  const int floors = config_.top_floor - config_.bottom_floor + 1;
  int floor;
  if (config_.is_static) {
    int u = std::max(config_.unit, 1);
    floor = config_.bottom_floor + (u - 1) % floors;
    trips_ = 100000 + static_cast<uint32_t>(u);
    door_cycles_ = 200000 + static_cast<uint32_t>(u);
    run_hours_base_ = 1000 + static_cast<uint32_t>(u);
    hb_base_ = 0;
  } else {
    floor = static_cast<int>(RandomBetween(config_.bottom_floor, config_.top_floor));
    trips_ = static_cast<uint32_t>(RandomBetween(20000, 400000));
    door_cycles_ = trips_ * 2 + static_cast<uint32_t>(RandomBetween(0, 5000));
    run_hours_base_ = static_cast<uint32_t>(RandomBetween(500, 20000));
    hb_base_ = static_cast<uint16_t>(RandomBetween(0, 65535));
  }
  pos_mm_ = static_cast<double>(floor) * config_.floor_height_mm;
  to_mm_ = pos_mm_;
  StartIdle(now_ns);
}

int64_t CarModel::RandomBetween(int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
  return lo + static_cast<int64_t>(SplitMix(rng_) % span);
}

double CarModel::RandomUnit() { return static_cast<double>(SplitMix(rng_) >> 11) * 0x1.0p-53; }

int CarModel::NearestFloor(double pos_mm) const {
  int f = static_cast<int>(std::lround(pos_mm / config_.floor_height_mm));
  return std::clamp(f, config_.bottom_floor, config_.top_floor);
}

int CarModel::RandomFloorOtherThan(int floor) {
  int n = config_.top_floor - config_.bottom_floor;  // floors minus one
  if (n <= 0) return floor;
  int f = config_.bottom_floor + static_cast<int>(RandomBetween(0, n - 1));
  if (f >= floor) ++f;
  return f;
}

uint16_t CarModel::HeartbeatAt(int64_t t) const {
  int64_t ticks = (t - hb_t0_) / kHeartbeatPeriodNs;
  return static_cast<uint16_t>((hb_base_ + ticks) & 0xFFFF);
}

bool CarModel::MotionHeld() const {
  for (const Active& a : active_) {
    if (a.condition != Condition::kCommsLost && a.condition != Condition::kControllerFrozen) {
      return true;
    }
  }
  return false;
}

bool CarModel::Frozen() const { return paused_ || MotionHeld(); }

void CarModel::StartIdle(int64_t at) {
  phase_ = Phase::kIdle;
  phase_start_ = at;
  phase_end_ = config_.is_static ? kNever : at + RandomBetween(2 * kSecond, 20 * kSecond);
}

void CarModel::StartDoorOpening(int64_t at) {
  phase_ = Phase::kDoorOpening;
  phase_start_ = at;
  phase_end_ = at + kDoorMoveNs;
}

void CarModel::StartTrip(int to_floor, int64_t at) {
  to_mm_ = static_cast<double>(to_floor) * config_.floor_height_mm;
  const double d = std::fabs(to_mm_ - pos_mm_);
  const double v = cruise_mm_s_;
  if (d >= v * v / kAccelMmS2) {
    trip_v_peak_ = v;
    trip_t_acc_ = v / kAccelMmS2;
    trip_total_ = 2 * trip_t_acc_ + (d - v * v / kAccelMmS2) / v;
  } else {
    trip_v_peak_ = std::sqrt(kAccelMmS2 * d);
    trip_t_acc_ = trip_v_peak_ / kAccelMmS2;
    trip_total_ = 2 * trip_t_acc_;
  }
  phase_ = Phase::kMoving;
  phase_start_ = at;
  phase_end_ = at + std::max<int64_t>(1, std::llround(trip_total_ * 1e9));
  ++trips_;
}

void CarModel::OnPhaseEnd(int64_t at) {
  switch (phase_) {
    case Phase::kIdle: {
      // A call from a random floor.
      const int here = NearestFloor(pos_mm_);
      const int call = static_cast<int>(RandomBetween(config_.bottom_floor, config_.top_floor));
      if (call == here) {
        StartDoorOpening(at);
      } else {
        StartTrip(call, at);
      }
      break;
    }
    case Phase::kMoving:
      run_ns_ += at - phase_start_;
      pos_mm_ = to_mm_;
      StartDoorOpening(at);
      break;
    case Phase::kDoorOpening: {
      // Passengers get out; others may get in.
      const double p_board = load_ == 0 ? 0.85 : 0.3;
      load_ = RandomUnit() < p_board ? static_cast<int>(RandomBetween(8, 85)) : 0;
      phase_ = Phase::kDoorOpen;
      phase_start_ = at;
      phase_end_ = at + RandomBetween(3 * kSecond, 8 * kSecond);
      break;
    }
    case Phase::kDoorOpen:
      phase_ = Phase::kDoorClosing;
      phase_start_ = at;
      phase_end_ = at + kDoorMoveNs;
      break;
    case Phase::kDoorClosing: {
      ++door_cycles_;
      const int here = NearestFloor(pos_mm_);
      const int dest = RandomFloorOtherThan(here);
      if (load_ > 0 && dest != here) {
        StartTrip(dest, at);
      } else {
        load_ = 0;
        StartIdle(at);
      }
      break;
    }
  }
}

void CarModel::Advance(int64_t now_ns) {
  if (now_ns <= t_) return;
  if (Frozen()) {
    const int64_t d = now_ns - t_;
    phase_start_ += d;
    if (phase_end_ != kNever) phase_end_ += d;
    t_ = now_ns;
    return;
  }
  while (phase_end_ <= now_ns) OnPhaseEnd(phase_end_);
  t_ = now_ns;
}

double CarModel::PositionMm() const {
  if (phase_ != Phase::kMoving) return pos_mm_;
  const double total_d = std::fabs(to_mm_ - pos_mm_);
  const double dt = static_cast<double>(t_ - phase_start_) / 1e9;
  double s;
  if (dt <= 0) {
    s = 0;
  } else if (dt >= trip_total_) {
    s = total_d;
  } else if (dt < trip_t_acc_) {
    s = 0.5 * kAccelMmS2 * dt * dt;
  } else if (dt < trip_total_ - trip_t_acc_) {
    s = 0.5 * trip_v_peak_ * trip_t_acc_ + trip_v_peak_ * (dt - trip_t_acc_);
  } else {
    const double rem = trip_total_ - dt;
    s = total_d - 0.5 * kAccelMmS2 * rem * rem;
  }
  s = std::clamp(s, 0.0, total_d);
  return to_mm_ >= pos_mm_ ? pos_mm_ + s : pos_mm_ - s;
}

int CarModel::SpeedMmS() const {
  if (phase_ != Phase::kMoving) return 0;
  const double dt = static_cast<double>(t_ - phase_start_) / 1e9;
  double v;
  if (dt <= 0 || dt >= trip_total_) {
    v = 0;
  } else if (dt < trip_t_acc_) {
    v = kAccelMmS2 * dt;
  } else if (dt < trip_total_ - trip_t_acc_) {
    v = trip_v_peak_;
  } else {
    v = kAccelMmS2 * (trip_total_ - dt);
  }
  return static_cast<int>(std::lround(std::clamp(v, 0.0, trip_v_peak_)));
}

CarState CarModel::NaturalState() const {
  CarState s;
  const double h = config_.floor_height_mm;
  const double pos = PositionMm();
  const bool moving = phase_ == Phase::kMoving && t_ > phase_start_ && t_ < phase_end_;
  const bool up = to_mm_ > pos_mm_;
  int floor;
  if (moving) {
    floor = up ? static_cast<int>(std::floor((pos + 1.0) / h))
               : static_cast<int>(std::ceil((pos - 1.0) / h));
    floor = std::clamp(floor, config_.bottom_floor, config_.top_floor);
  } else {
    floor = NearestFloor(pos);
  }
  const double off = std::fabs(pos - std::round(pos / h) * h);

  s.Set(Field::kAuto, 1);
  s.Set(Field::kDoorZone, off <= kDoorZoneMm ? 1 : 0);
  s.Set(Field::kMoving, moving ? 1 : 0);
  s.Set(Field::kDirUp, moving && up ? 1 : 0);
  s.Set(Field::kDirDown, moving && !up ? 1 : 0);
  s.Set(Field::kDoorOpen, phase_ == Phase::kDoorOpen ? 1 : 0);
  const bool closed =
      phase_ == Phase::kIdle || phase_ == Phase::kMoving;  // fully closed and locked
  s.Set(Field::kDoorClosed, closed ? 1 : 0);
  s.Set(Field::kOccupied, load_ > 0 ? 1 : 0);
  s.Set(Field::kSafetyChainOk, 1);
  s.Set(Field::kDoorLockOk, 1);
  s.Set(Field::kMainPowerOk, 1);
  s.Set(Field::kOverload, load_ > 100 ? 1 : 0);

  s.Set(Field::kFloor, floor);
  s.Set(Field::kSpeed, moving ? SpeedMmS() : 0);
  s.Set(Field::kLoad, load_);
  s.Set(Field::kTrips, trips_);
  s.Set(Field::kDoorCycles, door_cycles_);
  int64_t run_ns =
      run_ns_ + (phase_ == Phase::kMoving ? std::max<int64_t>(0, t_ - phase_start_) : 0);
  s.Set(Field::kRunHours, (run_hours_base_ + run_ns / kNsPerHour) & 0xFFFFFFFFll);
  s.Set(Field::kHeartbeat, HeartbeatAt(t_));
  s.Set(Field::kRatedSpeed, config_.rated_speed_mm_s);
  s.Set(Field::kTopFloor, config_.top_floor);
  s.Set(Field::kBottomFloor, config_.bottom_floor);
  s.model = ModelChars(config_.model);
  return s;
}

CarState CarModel::State() const {
  CarState s = NaturalState();
  auto apply = [&s](const Patch& p) {
    if (p.mask == 0) return;
    for (int i = 0; i < kFieldCount; ++i) {
      if ((p.mask >> i) & 1) s.value[i] = p.value[i];
    }
  };
  for (const Active& a : active_) apply(a.patch);
  apply(overrides_);
  if (model_override_) s.model = *model_override_;
  return s;
}

CarModel::Patch CarModel::Recipe(Condition c, const CarState& natural, int fault_code) const {
  Patch p;
  const int here = static_cast<int>(natural.Get(Field::kFloor));
  auto stop = [&] {
    p.Set(Field::kMoving, 0);
    p.Set(Field::kDirUp, 0);
    p.Set(Field::kDirDown, 0);
    p.Set(Field::kSpeed, 0);
  };
  auto door_closed = [&] {
    p.Set(Field::kDoorClosed, 1);
    p.Set(Field::kDoorOpen, 0);
  };
  auto door_open = [&] {
    p.Set(Field::kDoorClosed, 0);
    p.Set(Field::kDoorOpen, 1);
  };
  auto door_ajar = [&] {  // neither fully open nor closed
    p.Set(Field::kDoorClosed, 0);
    p.Set(Field::kDoorOpen, 0);
  };
  auto at_floor = [&](int f) {
    p.Set(Field::kFloor, f);
    p.Set(Field::kDoorZone, 1);
  };
  auto at_nearest_floor = [&] { at_floor(NearestFloor(PositionMm())); };
  auto between_floors = [&] {
    // Floor is the last one passed; stay below the top floor.
    int f = here;
    if (f >= config_.top_floor && config_.top_floor > config_.bottom_floor) {
      f = config_.top_floor - 1;
    }
    p.Set(Field::kFloor, f);
    p.Set(Field::kDoorZone, 0);
  };
  auto occupied = [&] {
    p.Set(Field::kOccupied, 1);
    int64_t load = natural.Get(Field::kLoad);
    p.Set(Field::kLoad, load > 0 && load <= 100 ? load : 25);
    p.Set(Field::kOverload, 0);
  };
  auto empty = [&] {
    p.Set(Field::kOccupied, 0);
    p.Set(Field::kLoad, 0);
    p.Set(Field::kOverload, 0);
  };
  auto mode = [&](Field m) {
    for (Field f : {Field::kAuto, Field::kInspection, Field::kFireService, Field::kOutOfService,
                    Field::kEmergencyPower}) {
      p.Set(f, f == m ? 1 : 0);
    }
  };

  switch (c) {
    case Condition::kTrappedBetweenFloors:
      mode(Field::kAuto);
      stop();
      door_closed();
      between_floors();
      occupied();
      break;
    case Condition::kTrappedAtFloor:
      mode(Field::kAuto);
      stop();
      door_closed();
      at_nearest_floor();
      occupied();
      break;
    case Condition::kTrappedAlarmButton:
      mode(Field::kAuto);
      stop();
      door_closed();
      at_nearest_floor();
      occupied();
      p.Set(Field::kAlarmButton, 1);
      break;
    case Condition::kTrappedPowerLoss:
      stop();
      door_closed();
      between_floors();
      occupied();
      p.Set(Field::kMainPowerOk, 0);
      break;
    case Condition::kDoorOpenWhileMoving:
      door_ajar();
      between_floors();
      p.Set(Field::kMoving, 1);
      p.Set(Field::kDirUp, 1);
      p.Set(Field::kDirDown, 0);
      p.Set(Field::kSpeed, std::min(500, cruise_mm_s_));
      break;
    case Condition::kUcm:
      stop();
      door_closed();
      at_nearest_floor();
      empty();
      p.Set(Field::kUcm, 1);
      break;
    case Condition::kOverspeed:
      door_closed();
      between_floors();
      p.Set(Field::kMoving, 1);
      p.Set(Field::kDirUp, 0);
      p.Set(Field::kDirDown, 1);
      p.Set(Field::kSpeed, std::min<int64_t>(0xFFFF, config_.rated_speed_mm_s * 125LL / 100));
      break;
    case Condition::kTopOverrun:
      stop();
      door_closed();
      at_floor(config_.top_floor);
      empty();
      p.Set(Field::kTopLimit, 1);
      break;
    case Condition::kBottomOverrun:
      stop();
      door_closed();
      at_floor(config_.bottom_floor);
      empty();
      p.Set(Field::kBottomLimit, 1);
      break;
    case Condition::kStopOutsideDoorZone:
      mode(Field::kAuto);
      stop();
      door_closed();
      between_floors();
      empty();
      break;
    case Condition::kSafetyCircuitOpen:
      stop();
      door_closed();
      at_nearest_floor();
      empty();
      p.Set(Field::kSafetyChainOk, 0);
      break;
    case Condition::kDoorLockFault:
      stop();
      door_closed();
      at_nearest_floor();
      empty();
      p.Set(Field::kDoorLockOk, 0);
      break;
    case Condition::kPowerFailure:
      stop();
      door_closed();
      at_nearest_floor();
      empty();
      p.Set(Field::kMainPowerOk, 0);
      break;
    case Condition::kBrakeFault:
      stop();
      door_closed();
      at_nearest_floor();
      empty();
      p.Set(Field::kBrakeFault, 1);
      break;
    case Condition::kControllerFault:
      stop();
      door_closed();
      at_nearest_floor();
      empty();
      p.Set(Field::kFaultCode, fault_code);
      break;
    case Condition::kDoorOpenTooLong:
      mode(Field::kAuto);
      stop();
      door_open();
      at_nearest_floor();
      empty();
      break;
    case Condition::kAlarmButton:
      stop();
      door_ajar();
      at_nearest_floor();
      occupied();
      p.Set(Field::kAlarmButton, 1);
      break;
    case Condition::kCommsLost:
      break;
    case Condition::kControllerFrozen:
      p.Set(Field::kHeartbeat, natural.Get(Field::kHeartbeat));
      break;
    case Condition::kInspection:
      mode(Field::kInspection);
      stop();
      door_closed();
      at_nearest_floor();
      empty();
      break;
    case Condition::kFireService: {
      // Recalled to the main landing (floor 0, or the lowest floor), door open.
      const int recall = std::clamp(0, config_.bottom_floor, config_.top_floor);
      mode(Field::kFireService);
      stop();
      door_open();
      at_floor(recall);
      empty();
      break;
    }
    case Condition::kOutOfService:
      mode(Field::kOutOfService);
      stop();
      door_closed();
      at_nearest_floor();
      empty();
      break;
    case Condition::kEmergencyPower:
      // Rescue operation: brought to the nearest floor, door opened.
      mode(Field::kEmergencyPower);
      stop();
      door_open();
      at_nearest_floor();
      empty();
      break;
    case Condition::kCount:
      break;
  }
  return p;
}

void CarModel::Park(int64_t at) {
  if (phase_ == Phase::kMoving) {
    run_ns_ += std::max<int64_t>(0, at - phase_start_);
  }
  pos_mm_ = static_cast<double>(NearestFloor(PositionMm())) * config_.floor_height_mm;
  to_mm_ = pos_mm_;
  load_ = 0;
  StartIdle(at);
}

void CarModel::SetCondition(Condition c, bool on, int64_t now_ns, int fault_code) {
  if (c == Condition::kCount) return;
  Advance(now_ns);
  const bool was_held = MotionHeld();
  auto it = std::find_if(active_.begin(), active_.end(),
                         [c](const Active& a) { return a.condition == c; });
  const bool was_on = it != active_.end();
  std::optional<int64_t> frozen_hb;
  if (was_on) {
    if (c == Condition::kControllerFrozen)
      frozen_hb = it->patch.value[static_cast<int>(Field::kHeartbeat)];
    active_.erase(it);
  }
  if (on) {
    active_.push_back(Active{c, Recipe(c, NaturalState(), fault_code)});
    if (frozen_hb) {  // stays frozen at the same value
      active_.back().patch.Set(Field::kHeartbeat, *frozen_hb);
    }
  } else if (frozen_hb) {
    // The heartbeat goes on from where it stopped.
    hb_base_ = static_cast<uint16_t>(*frozen_hb);
    hb_t0_ = t_;
  }
  if (was_held && !MotionHeld()) Park(t_);
}

bool CarModel::ConditionOn(Condition c) const {
  return std::any_of(active_.begin(), active_.end(),
                     [c](const Active& a) { return a.condition == c; });
}

void CarModel::SetPaused(bool paused, int64_t now_ns) {
  Advance(now_ns);
  paused_ = paused;
}

void CarModel::SetOverride(Field f, int64_t value) {
  if (f == Field::kModel || f == Field::kCount) return;
  overrides_.Set(f, value);
}

void CarModel::SetModelOverride(std::string_view text) { model_override_ = ModelChars(text); }

void CarModel::Release(Field f) {
  if (f == Field::kModel) {
    model_override_.reset();
    return;
  }
  if (f == Field::kCount) return;
  overrides_.mask &= ~(uint64_t{1} << static_cast<int>(f));
}

void CarModel::ReleaseAll() {
  overrides_ = Patch{};
  model_override_.reset();
}

}  // namespace lg::sim
