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
  // Compliance findings (rules/compliance.h, daemon/records_service.h): raised
  // from the records, not from a car's samples.
  kMaintenanceOverdue,
  kInspectionDue,
  kInspectionOverdue,
  kCertificateExpiring,
  kCertificateExpired,
  kDrillOverdue,
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
// test) and belongs to no car, and the compliance types below.
bool IsCarAlarm(AlarmType t);

// MAINTENANCE_OVERDUE, INSPECTION_DUE, INSPECTION_OVERDUE,
// CERTIFICATE_EXPIRING, CERTIFICATE_EXPIRED, DRILL_OVERDUE: raised from the
// records (docs/records.md). Their alarm's `elevator` is an elevator id, or
// for what belongs to no car a pseudo-key with a colon: "person:ID" (a
// certificate holder), "contractor:ID" or "unit:site" (a drilling party).
bool IsComplianceAlarm(AlarmType t);

// Whether an alarm of type `t` keyed by `subject` is about an elevator: a
// car's alarm, or a compliance alarm keyed by an elevator id (elevator ids
// never contain a colon; pseudo-keys always do).
bool IsAboutCar(AlarmType t, std::string_view subject);

}  // namespace lg
