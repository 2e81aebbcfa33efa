// ComplianceAlarm: one compliance condition that holds now, keyed as the
// alarm book keys alarms. RecordsService makes them (daemon/records_service.h);
// AlarmService::PostCompliance raises and clears alarms from them.
//
// Thread-safety: a plain value type.
#pragma once

#include <string>

#include "core/alarm_type.h"

namespace lg {

struct ComplianceAlarm {
  AlarmType type = AlarmType::kMaintenanceOverdue;  // IsComplianceAlarm(type)
  // An elevator id, or a pseudo-key for what belongs to no car: "person:ID"
  // (a certificate holder), "contractor:ID" or "unit:site" (a drilling party).
  std::string subject;
  Severity severity = Severity::kMajor;
  std::string message;
};

}  // namespace lg
