// RulesConfig: the thresholds of shared/spec/faults.md, with its defaults.
// Set per site in [rules] and per elevator in [elevator.rules] (see
// docs/configuration.md); the detectors and the alarm lifecycle take it by
// value.
//
// Thread-safety: a plain value type.
#pragma once

namespace lg {

struct RulesConfig {
  bool operator==(const RulesConfig&) const = default;

  // TRAPPED
  int trapped_between_floors_s = 30;  // stopped, closed, occupied, outside the door zone
  int trapped_at_floor_s = 60;        // same, inside the door zone
  int trapped_alarm_button_s = 5;     // alarm button while stopped with the door closed
  int trapped_power_loss_s = 30;      // mains lost, occupied, outside the door zone
  // other detectors
  int door_open_while_moving_s = 1;
  double overspeed_factor = 1.15;       // OVERSPEED above factor x rated speed ...
  int overspeed_s = 1;                  // ... for this long
  double overspeed_clear_factor = 1.0;  // clears below this x rated speed; <= overspeed_factor
  int stop_outside_door_zone_s = 10;
  int safety_circuit_open_s = 2;
  int door_lock_fault_s = 2;
  int power_failure_s = 2;
  int brake_fault_s = 1;
  int controller_fault_s = 2;
  int door_open_too_long_s = 120;
  int controller_frozen_s = 10;  // heartbeat unchanged
  int clear_s = 3;               // a condition must be gone this long before it clears
  // alarm management
  int chatter_count = 3;                // raised and cleared this often ...
  int chatter_window_s = 60;            // ... within this window: chattering
  int chatter_notify_interval_s = 600;  // at most one notification per interval then
  int flood_count = 10;                 // site-wide: more new alarms than this ...
  int flood_window_s = 600;             // ... within this window: flood
  int flood_digest_s = 120;             // non-critical digest interval during a flood
};

}  // namespace lg
