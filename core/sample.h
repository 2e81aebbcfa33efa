// Sample: the typed state of one elevator car as read at one moment.
//
// Produced by the driver's decoder from raw Modbus registers (drivers/),
// consumed by the rules and the live state. A make's register map may lack
// some fields; `Has(field)` says whether a field was read. Readers must not
// use a field that is not present (its value is then zero/false).
//
// Field names are those of shared/spec/register-map.md.
//
// Thread-safety: a plain value type.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace lg {

// Every field a register map can provide. Flags first, then numbers.
enum class Field : uint8_t {
  // status1
  kAuto,
  kInspection,
  kFireService,
  kDoorZone,
  kMoving,
  kDirUp,
  kDirDown,
  kDoorOpen,
  kDoorClosed,
  kOccupied,
  kAlarmButton,
  kSafetyChainOk,
  kDoorLockOk,
  kMainPowerOk,
  kOverload,
  kOutOfService,
  // status2
  kTopLimit,
  kBottomLimit,
  kUcm,
  kBrakeFault,
  kEmergencyPower,
  // numeric, read every poll
  kFloor,
  kFaultCode,
  kSpeed,
  kLoad,
  kTrips,
  kDoorCycles,
  kRunHours,
  kHeartbeat,
  // read once after each (re)connect ("controller info")
  kRatedSpeed,
  kTopFloor,
  kBottomFloor,
  kModel,
  kCount
};

inline constexpr int kFieldCount = static_cast<int>(Field::kCount);
inline constexpr int kFlagCount = static_cast<int>(Field::kFloor);

constexpr bool IsFlag(Field f) { return static_cast<int>(f) < kFlagCount; }
// Fields the poll reads every time, as opposed to controller info.
constexpr bool IsPolledField(Field f) { return f < Field::kRatedSpeed; }

// "door_zone" etc. Returns nullopt for an unknown name.
std::optional<Field> FieldFromName(std::string_view name);
std::string_view FieldName(Field f);

enum class Mode : uint8_t {
  kUnknown,
  kAuto,
  kInspection,
  kFireService,
  kOutOfService,
  kEmergencyPower
};
enum class Direction : uint8_t { kNone, kUp, kDown };
enum class DoorState : uint8_t { kUnknown, kOpen, kClosed, kMoving };

std::string_view ModeName(Mode m);            // "auto", "inspection", ...
std::string_view DirectionName(Direction d);  // "up", "down", "none"
std::string_view DoorStateName(DoorState d);  // "open", "closed", "moving", "unknown"

struct Sample {
  std::bitset<kFieldCount> present;
  std::bitset<kFlagCount> flags;
  std::array<double, kFieldCount - kFlagCount - 1> numbers{};  // numeric fields but kModel
  std::string model;                                           // kModel, if present

  SteadyTime read_at{};  // monotonic time the reply arrived
  WallTime wall_at{};    // civil time of the same moment

  bool Has(Field f) const { return present.test(static_cast<int>(f)); }
  // False when absent; check Has() where absence matters.
  bool Flag(Field f) const { return IsFlag(f) && flags.test(static_cast<int>(f)); }
  double Number(Field f) const;
  void SetFlag(Field f, bool on);
  void SetNumber(Field f, double v);

  int floor() const { return static_cast<int>(Number(Field::kFloor)); }
  uint32_t heartbeat() const { return static_cast<uint32_t>(Number(Field::kHeartbeat)); }

  // Derived views, following register-map.md. Mode precedence when several
  // bits are set: out of service, fire service, inspection, emergency power,
  // auto; none of them is `unknown`.
  Mode mode() const;
  Direction direction() const;
  DoorState door() const;
};

// Controller identity read from holding registers once per (re)connect.
struct ControllerInfo {
  std::optional<int> rated_speed_mm_s;
  std::optional<int> top_floor;
  std::optional<int> bottom_floor;
  std::string model;
};

}  // namespace lg
