#include "core/sample.h"

#include <array>

namespace lg {
namespace {

constexpr std::array<std::string_view, kFieldCount> kNames = {
    "auto",
    "inspection",
    "fire_service",
    "door_zone",
    "moving",
    "dir_up",
    "dir_down",
    "door_open",
    "door_closed",
    "occupied",
    "alarm_button",
    "safety_chain_ok",
    "door_lock_ok",
    "main_power_ok",
    "overload",
    "out_of_service",
    "top_limit",
    "bottom_limit",
    "ucm",
    "brake_fault",
    "emergency_power",
    "floor",
    "fault_code",
    "speed",
    "load",
    "trips",
    "door_cycles",
    "run_hours",
    "heartbeat",
    "rated_speed",
    "top_floor",
    "bottom_floor",
    "model",
};

int NumberIndex(Field f) { return static_cast<int>(f) - kFlagCount; }

}  // namespace

std::optional<Field> FieldFromName(std::string_view name) {
  for (int i = 0; i < kFieldCount; ++i) {
    if (kNames[i] == name) return static_cast<Field>(i);
  }
  return std::nullopt;
}

std::string_view FieldName(Field f) {
  int i = static_cast<int>(f);
  return i >= 0 && i < kFieldCount ? kNames[i] : "?";
}

std::string_view ModeName(Mode m) {
  switch (m) {
    case Mode::kAuto:
      return "auto";
    case Mode::kInspection:
      return "inspection";
    case Mode::kFireService:
      return "fire_service";
    case Mode::kOutOfService:
      return "out_of_service";
    case Mode::kEmergencyPower:
      return "emergency_power";
    case Mode::kUnknown:
      break;
  }
  return "unknown";
}

std::string_view DirectionName(Direction d) {
  switch (d) {
    case Direction::kUp:
      return "up";
    case Direction::kDown:
      return "down";
    case Direction::kNone:
      break;
  }
  return "none";
}

std::string_view DoorStateName(DoorState d) {
  switch (d) {
    case DoorState::kOpen:
      return "open";
    case DoorState::kClosed:
      return "closed";
    case DoorState::kMoving:
      return "moving";
    case DoorState::kUnknown:
      break;
  }
  return "unknown";
}

double Sample::Number(Field f) const {
  if (IsFlag(f) || f == Field::kModel || f == Field::kCount) return 0;
  return numbers[NumberIndex(f)];
}

void Sample::SetFlag(Field f, bool on) {
  if (!IsFlag(f)) return;
  present.set(static_cast<int>(f));
  flags.set(static_cast<int>(f), on);
}

void Sample::SetNumber(Field f, double v) {
  if (IsFlag(f) || f == Field::kModel || f == Field::kCount) return;
  present.set(static_cast<int>(f));
  numbers[NumberIndex(f)] = v;
}

Mode Sample::mode() const {
  if (Flag(Field::kOutOfService)) return Mode::kOutOfService;
  if (Flag(Field::kFireService)) return Mode::kFireService;
  if (Flag(Field::kInspection)) return Mode::kInspection;
  if (Flag(Field::kEmergencyPower)) return Mode::kEmergencyPower;
  if (Flag(Field::kAuto)) return Mode::kAuto;
  return Mode::kUnknown;
}

Direction Sample::direction() const {
  if (Flag(Field::kDirUp)) return Direction::kUp;
  if (Flag(Field::kDirDown)) return Direction::kDown;
  return Direction::kNone;
}

DoorState Sample::door() const {
  if (!Has(Field::kDoorOpen) && !Has(Field::kDoorClosed)) return DoorState::kUnknown;
  if (Flag(Field::kDoorOpen)) return DoorState::kOpen;
  if (Flag(Field::kDoorClosed)) return DoorState::kClosed;
  return DoorState::kMoving;
}

}  // namespace lg
