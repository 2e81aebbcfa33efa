// CarDetector: the fault detectors of shared/spec/faults.md for one car.
//
// Pure logic: no I/O, no clock of its own, no threads. It is fed the car's
// valid replies (OnSample, timed by Sample::read_at / wall_at) and the
// passing of time (OnTime), and appends Findings: a condition started to
// hold long enough (active = true) or stopped holding for its clear time
// (active = false). Each alarm type is either raised or not; a raise is
// always followed by exactly one clear before the next raise of that type.
// Findings are transitions, not alarms: deduplication, acknowledgement,
// suppression, shelving and chattering belong to the alarm lifecycle.
//
// Time rules (faults.md):
// - "Sustained for T": the condition held in every sample for T, measured
//   from the first sample that showed it. It fires at the first sample at
//   or after T (with samples every 100 ms and T = 30 s: 29.9 s nothing,
//   30.0 s raised); a sample within 25 ms of T counts as at T (poll timing
//   jitter must not cost a whole interval when T is a whole number of
//   intervals); T = 0 means the first sample that shows it. A sample in
//   which it does not hold restarts the wait. Clear times work the same way
//   on the clear condition.
// - Only samples move timers; nothing but COMMS_LOST fires from OnTime. A
//   car with no samples (link down) has timers that neither advance nor
//   fire: the interval between two samples does not count when it is
//   comms_lost_after or longer, or COMMS_LOST is raised; the timers resume
//   from where they stood.
// - A sample lacking a field a rule reads (possible for a float field that
//   decoded as NaN) proves neither raise nor clear: that rule's timers
//   restart.
// - A new detector (daemon start, configuration reload) starts every timer
//   from its first sample; the lifecycle deduplicates the re-detection.
//
// Per-type decisions where faults.md leaves room:
// - TRAPPED has four paths, each with its own timer; the first to fire gives
//   the subtype ("between_floors", "at_floor", "alarm_button",
//   "power_loss"). Whatever the path, it clears when the car moves or the
//   door is not closed (door_closed false, or door_open), sustained clear_s.
//   So every path, power_loss included, also needs the car stopped with
//   the door closed (else a raise would be followed by a clear and a new
//   raise while the condition lasts).
// - STOP_OUTSIDE_DOOR_ZONE does not look at `occupied`. With a passenger it
//   fires at 10 s and stays raised; TRAPPED (between_floors) is raised in
//   addition at 30 s. Each clears by its own condition.
// - DOOR_LOCK_FAULT: lock circuit open while moving fires on the first such
//   sample; while the door is closed it must last door_lock_fault_s.
// - DOOR_OPEN_TOO_LONG clears on the first sample with door_closed (a door
//   that opens again without having closed stays raised).
// - CONTROLLER_FAULT: a non-zero code sustained controller_fault_s raises
//   with the code then shown. If, while raised, another non-zero code holds
//   for controller_fault_s, the old finding is cleared and a new one raised
//   for the new code (same sample; the clear first). A code that goes back
//   to 0 clears after clear_s.
// - ALARM_BUTTON: raise on a rising edge (a button already pressed in the
//   first sample counts as one), clear on the first sample it is released.
// - COMMS_LOST: raised by OnTime when no valid reply came for
//   comms_lost_after (counted from construction before the first reply);
//   cleared by the next OnSample.
// - CONTROLLER_FROZEN: the heartbeat value unchanged in every sample for
//   controller_frozen_s; cleared on the first sample with another value.
//
// A rule whose fields the car's map lacks is disabled and listed by
// disabled() with the reason; TRAPPED is listed per path, so a map without
// `occupied` keeps the alarm-button path. OVERSPEED also needs a rated
// speed.
//
// Performance: OnSample and OnTime allocate nothing unless a transition
// happens (then the Finding's strings, and growth of the caller's vector).
//
// Thread-safety: none; one detector per car, used from one thread at a time.
#pragma once

#include <bitset>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/alarm_type.h"
#include "core/clock.h"
#include "core/sample.h"
#include "rules/finding.h"
#include "rules/rules_config.h"

namespace lg::rules {

// One entry of a make's fault table.
struct FaultInfo {
  std::string text;  // "door lock short-circuit"
  Severity severity = Severity::kMajor;
};

// The make's fault table: nullopt for a code it does not know.
using FaultTable = std::function<std::optional<FaultInfo>(uint32_t code)>;

struct CarProfile {
  // The configured rated speed if there is one, else the controller's.
  // OVERSPEED is disabled without one (or with one <= 0).
  std::optional<int> rated_speed_mm_s;
  // The fields the car's register map provides (RegisterMap::Provides).
  std::bitset<kFieldCount> provided;
  // May be empty: CONTROLLER_FAULT then reads "E35: controller fault code
  // not in the fault table" with severity major.
  FaultTable fault_text;
};

// Every field set, for a map like ref-1 that provides them all.
std::bitset<kFieldCount> AllFields();

struct DisabledRule {
  AlarmType type;
  std::string subtype;  // TRAPPED: the path ("at_floor", ...); else empty
  std::string reason;   // "map lacks field 'occupied'"
};

class CarDetector {
 public:
  // comms_lost_after_ms is [polling].comms_lost_after_ms.
  CarDetector(CarProfile profile, RulesConfig thresholds, SteadyTime created,
              int comms_lost_after_ms = 10000);
  ~CarDetector();
  CarDetector(CarDetector&&) noexcept;
  CarDetector& operator=(CarDetector&&) noexcept;

  // A valid reply. Samples come in time order; one with an earlier read_at
  // than the previous one counts as no time passed.
  void OnSample(const Sample& s, std::vector<Finding>& out);
  // Call periodically (e.g. every 250 ms). Evaluates COMMS_LOST only; the
  // finding is stamped with now / wall.
  void OnTime(SteadyTime now, WallTime wall, std::vector<Finding>& out);

  // A rated speed that became known after construction (the controller's,
  // read after a connect, when the configuration gives none). Enables
  // OVERSPEED if the map provides `speed`, or moves its thresholds. Values
  // <= 0 are ignored.
  void SetRatedSpeed(int mm_s);

  // Rules (or TRAPPED paths) this car cannot evaluate, and why.
  const std::vector<DisabledRule>& disabled() const;
  // Whether type t is evaluated at all (TRAPPED: any of its paths).
  bool active(AlarmType t) const;
  // Whether the last finding of type t was a raise.
  bool raised(AlarmType t) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Why the car's alarms are suppressed now, if they are: `out_of_service`
// first, then `inspection` (the status1 bits of the car's latest sample,
// whatever else is set), then a maintenance window declared in Liftguard.
std::optional<SuppressionCause> SuppressionFor(const Sample& latest, bool in_maintenance_window);

// The same for one alarm type: the first of those causes, in that order,
// that suppresses t (IsSuppressible), or nullopt. E.g. COMMS_LOST of an
// out-of-service car inside a window gives kMaintenanceWindow; UCM never
// gives anything.
std::optional<SuppressionCause> SuppressionFor(AlarmType t, const Sample& latest,
                                               bool in_maintenance_window);

}  // namespace lg::rules
