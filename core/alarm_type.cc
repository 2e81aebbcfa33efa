#include "core/alarm_type.h"

#include <array>

namespace lg {
namespace {

struct Info {
  std::string_view name;
  std::string_view chinese;
  Severity severity;
};

constexpr std::array<Info, kAlarmTypeCount> kInfo = {{
    {"TRAPPED", "困人", Severity::kCritical},
    {"DOOR_OPEN_WHILE_MOVING", "运行中开门", Severity::kCritical},
    {"UCM", "轿厢意外移动", Severity::kCritical},
    {"OVERSPEED", "超速", Severity::kCritical},
    {"TOP_OVERRUN", "冲顶", Severity::kCritical},
    {"BOTTOM_OVERRUN", "蹲底", Severity::kCritical},
    {"STOP_OUTSIDE_DOOR_ZONE", "门区外停梯", Severity::kMajor},
    {"SAFETY_CIRCUIT_OPEN", "安全回路断路", Severity::kMajor},
    {"DOOR_LOCK_FAULT", "门锁回路断路", Severity::kMajor},
    {"POWER_FAILURE", "停电", Severity::kMajor},
    {"BRAKE_FAULT", "制动器故障", Severity::kMajor},
    {"CONTROLLER_FAULT", "控制器故障", Severity::kMajor},
    {"DOOR_OPEN_TOO_LONG", "长时间开门", Severity::kMinor},
    {"ALARM_BUTTON", "紧急报警按钮", Severity::kMajor},
    {"COMMS_LOST", "通信中断", Severity::kMajor},
    {"CONTROLLER_FROZEN", "心跳停止", Severity::kMajor},
    {"CHANNEL_DOWN", "通知通道故障", Severity::kMajor},
    // Severities of rules/compliance.h (shared/spec/records.md).
    {"MAINTENANCE_OVERDUE", "维保超期", Severity::kMajor},
    {"INSPECTION_DUE", "定期检验临近", Severity::kMinor},
    {"INSPECTION_OVERDUE", "定期检验超期", Severity::kCritical},
    {"CERTIFICATE_EXPIRING", "证书即将到期", Severity::kMinor},
    {"CERTIFICATE_EXPIRED", "证书已过期", Severity::kMajor},
    {"DRILL_OVERDUE", "应急演练超期", Severity::kMinor},
}};

const Info* Find(AlarmType t) {
  int i = static_cast<int>(t);
  return i >= 0 && i < kAlarmTypeCount ? &kInfo[i] : nullptr;
}

}  // namespace

std::string_view AlarmTypeName(AlarmType t) {
  const Info* i = Find(t);
  return i ? i->name : "UNKNOWN";
}

std::string_view AlarmTypeChinese(AlarmType t) {
  const Info* i = Find(t);
  return i ? i->chinese : "未知";
}

std::optional<AlarmType> AlarmTypeFromName(std::string_view name) {
  for (int i = 0; i < kAlarmTypeCount; ++i) {
    if (kInfo[i].name == name) return static_cast<AlarmType>(i);
  }
  return std::nullopt;
}

std::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kCritical:
      return "critical";
    case Severity::kMajor:
      return "major";
    case Severity::kMinor:
      break;
  }
  return "minor";
}

std::optional<Severity> SeverityFromName(std::string_view name) {
  if (name == "critical") return Severity::kCritical;
  if (name == "major") return Severity::kMajor;
  if (name == "minor") return Severity::kMinor;
  return std::nullopt;
}

Severity DefaultSeverity(AlarmType t) {
  const Info* i = Find(t);
  return i ? i->severity : Severity::kMajor;
}

bool IsSuppressible(AlarmType t, SuppressionCause cause) {
  switch (t) {
    case AlarmType::kTrapped:
    case AlarmType::kStopOutsideDoorZone:
    case AlarmType::kDoorOpenTooLong:
    case AlarmType::kSafetyCircuitOpen:
    case AlarmType::kDoorLockFault:
    case AlarmType::kControllerFault:
      return true;
    case AlarmType::kCommsLost:
      return cause == SuppressionCause::kMaintenanceWindow;
    default:
      return false;
  }
}

bool IsCarAlarm(AlarmType t) {
  return t != AlarmType::kChannelDown && t != AlarmType::kCount && !IsComplianceAlarm(t);
}

bool IsComplianceAlarm(AlarmType t) {
  switch (t) {
    case AlarmType::kMaintenanceOverdue:
    case AlarmType::kInspectionDue:
    case AlarmType::kInspectionOverdue:
    case AlarmType::kCertificateExpiring:
    case AlarmType::kCertificateExpired:
    case AlarmType::kDrillOverdue:
      return true;
    default:
      return false;
  }
}

bool IsAboutCar(AlarmType t, std::string_view subject) {
  if (IsCarAlarm(t)) return true;
  return IsComplianceAlarm(t) && !subject.empty() && subject.find(':') == std::string_view::npos;
}

bool IsShelvable(AlarmType t) {
  switch (t) {
    case AlarmType::kTrapped:
    case AlarmType::kUcm:
    case AlarmType::kOverspeed:
    case AlarmType::kTopOverrun:
    case AlarmType::kBottomOverrun:
    case AlarmType::kDoorOpenWhileMoving:
      return false;
    default:
      return true;
  }
}

}  // namespace lg
