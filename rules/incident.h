// Rescue incidents (shared/spec/faults.md "Rescue incidents"; the contract
// the API, dashboard and CLI share is docs/incidents.md): the steps, the
// order they may be recorded in, the time targets, and how each target is
// measured.
//
// An Incident is a plain value: its recorded steps in the order they were
// recorded, plus what the steps carried (ETA, cause) and the targets that
// applied when it opened. Everything shown (state, latest step, elapsed
// times, targets missed) is derived from the steps, so it cannot disagree
// with them.
//
// Pure: no I/O, no clock (`now` is passed in), no threads. The daemon's
// IncidentService stores what these functions allow.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace lg::rules {

// In the order of faults.md.
enum class IncidentStep : uint8_t {
  kOpen,          // "open"
  kAcknowledged,  // "acknowledged": the security room has spoken to the passengers
  kDispatched,    // "dispatched": the contractor was notified (automatic, with open)
  kAccepted,      // "accepted": the contractor confirmed, with an ETA
  kOnSite,        // "on_site"
  kReleased,      // "released": passengers out
  kClosed,        // "closed": with the cause
  kFalseAlarm,    // "false_alarm"
};
inline constexpr int kIncidentStepCount = 8;
std::string_view IncidentStepName(IncidentStep s);
std::optional<IncidentStep> IncidentStepFromName(std::string_view name);

enum class IncidentState : uint8_t { kOpen, kClosed, kFalseAlarm };
std::string_view IncidentStateName(IncidentState s);  // "open" | "closed" | "false_alarm"

// Who records a step; the rules differ.
enum class Recorder : uint8_t {
  kSystem,      // Liftguard itself: open (from a TRAPPED alarm) and dispatched
  kStaff,       // operator, safety manager: open by hand and every later step
  kContractor,  // the elevator's contractor: as staff, except acknowledged
};

// Minutes from `open`. faults.md defaults; on_site follows [site]
// arrival_target_min.
struct IncidentTargets {
  int acknowledged_min = 3;
  int accepted_min = 5;
  int on_site_min = 30;
  bool operator==(const IncidentTargets&) const = default;
};

// The steps that have a target, in the order of IncidentTargets.
inline constexpr IncidentStep kTargetSteps[] = {IncidentStep::kAcknowledged,
                                                IncidentStep::kAccepted, IncidentStep::kOnSite};

inline constexpr int kEtaMinMin = 1;
inline constexpr int kEtaMinMax = 240;

struct StepRecord {
  IncidentStep step = IncidentStep::kOpen;
  WallTime at{};
  std::string by;  // "system" or the user name
  std::string note;
};

struct Incident {
  int64_t id = 0;
  std::string elevator;
  std::optional<int64_t> alarm_id;   // the TRAPPED alarm that opened it; none if by hand
  std::vector<StepRecord> steps;     // as recorded; steps[0] is open
  std::optional<int> eta_min;        // from accepted
  std::optional<std::string> cause;  // from closed
  IncidentTargets targets;

  IncidentState state() const;
  // The furthest step reached: open, dispatched, acknowledged, accepted,
  // on_site, released, then closed or false_alarm. (Dispatched counts before
  // acknowledged: it is recorded with open.) kOpen without steps.
  IncidentStep latest() const;
  bool Has(IncidentStep s) const;
  std::optional<WallTime> At(IncidentStep s) const;
  WallTime opened_at() const;                 // the open step's time
  std::optional<WallTime> closed_at() const;  // closed or false_alarm
};

// What a step brings besides who and when.
struct StepDetails {
  std::string note;
  std::optional<int> eta_min;        // accepted only; required there, 1..240
  std::optional<std::string> cause;  // closed only
};

// Whether `who` may record `step` on `incident` now, with `details`.
// Refusals, by Error::code:
//   "forbidden"    a recorder who may never record this step (users posting
//                  open or dispatched; a contractor posting acknowledged; the
//                  system recording anything but open and dispatched)
//   "bad_field"    eta_min missing, out of 1..240, or given with another step;
//                  cause given with a step other than closed (the message
//                  names the field)
//   "out_of_order" the incident's steps do not allow it now (already
//                  recorded, ended, or a step it needs is missing; the
//                  message says which)
// Open is never allowed here: an incident is made by NewIncident.
Status CheckStep(const Incident& incident, IncidentStep step, Recorder who,
                 const StepDetails& details);

// `incident` with `step` appended (and eta_min/cause taken from `details`),
// or the refusal of CheckStep.
Result<Incident> WithStep(const Incident& incident, IncidentStep step, const std::string& by,
                          Recorder who, const StepDetails& details, WallTime at);

// A new incident: open (by `by`, with `note`) and dispatched ("system"),
// both at `at`. `id` is 0 until stored.
Incident NewIncident(const std::string& elevator, std::optional<int64_t> alarm_id,
                     const std::string& by, const std::string& note, const IncidentTargets& targets,
                     WallTime at);

// One measured target.
struct TargetTiming {
  IncidentStep step = IncidentStep::kAcknowledged;
  int target_min = 0;
  std::optional<int64_t> elapsed_s;  // open -> step, whole seconds, once reached
  bool over = false;                 // reached late, or not reached and already past
};
// The three targets of faults.md, in kTargetSteps order. A step not reached
// is measured up to `now` while the incident is open, and up to its end
// once closed or a false alarm (a target that passed while people believed
// someone was trapped stays missed).
std::vector<TargetTiming> Timings(const Incident& incident, WallTime now);

}  // namespace lg::rules
