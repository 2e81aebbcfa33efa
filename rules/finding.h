// Finding: what a detector concluded about one car at one moment: a
// condition of faults.md started to hold (sustained long enough) or stopped
// holding (for the clear time). Findings feed the alarm lifecycle; they are
// not alarms themselves (no id, no state, no acknowledgement).
//
// Thread-safety: a plain value type.
#pragma once

#include <string>

#include "core/alarm_type.h"
#include "core/clock.h"

namespace lg::rules {

struct Finding {
  AlarmType type = AlarmType::kTrapped;
  bool active = true;  // true: raise; false: the condition has cleared
  Severity severity = Severity::kMajor;
  // TRAPPED: "between_floors" | "at_floor" | "alarm_button" | "power_loss".
  // CONTROLLER_FAULT: the controller's code as text, e.g. "35".
  std::string subtype;
  // For people: "E35: door lock short-circuit", "trapped between floors for 30 s".
  std::string message;
  SteadyTime at{};
  WallTime wall_at{};
};

}  // namespace lg::rules
