// The kinds of alarm Liftguard raises, their severities, and the two rules
// of shared/spec/faults.md that depend on the type alone: which types a
// mode or maintenance window may suppress, and which may never be shelved.
//
// Thread-safety: constants and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace lg {

enum class AlarmType : uint8_t {
  kTrapped,
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
  kCommsLost,
  kControllerFrozen,
  kChannelDown,  // a notification channel failing (daemon/outbox_worker.h); not a car's
  kCount
};
inline constexpr int kAlarmTypeCount = static_cast<int>(AlarmType::kCount);

enum class Severity : uint8_t { kMinor, kMajor, kCritical };

std::string_view AlarmTypeName(AlarmType t);  // "TRAPPED", "DOOR_OPEN_WHILE_MOVING", ...
std::optional<AlarmType> AlarmTypeFromName(std::string_view name);
std::string_view AlarmTypeChinese(AlarmType t);  // "困人", ...
std::string_view SeverityName(Severity s);       // "critical" | "major" | "minor"
std::optional<Severity> SeverityFromName(std::string_view name);

// The severity faults.md gives the type (CONTROLLER_FAULT may be overridden
// by the make's fault table).
Severity DefaultSeverity(AlarmType t);

// Why an alarm may be suppressed: the car's mode, or a maintenance window
// declared in Liftguard.
enum class SuppressionCause : uint8_t { kInspection, kOutOfService, kMaintenanceWindow };

// faults.md "Suppression (never loss)". UCM, OVERSPEED, the overruns and
// DOOR_OPEN_WHILE_MOVING are never suppressed; COMMS_LOST only in a
// declared window.
bool IsSuppressible(AlarmType t, SuppressionCause cause);

// TRAPPED, UCM, OVERSPEED, the overruns and DOOR_OPEN_WHILE_MOVING.
bool IsShelvable(AlarmType t);

// Whether a car's detectors raise the type: every type but CHANNEL_DOWN,
// which is about Liftguard's own notification channels (raised by the
// daemon when a channel has failed for 5 minutes or failed its scheduled
// test) and belongs to no car.
bool IsCarAlarm(AlarmType t);

}  // namespace lg
