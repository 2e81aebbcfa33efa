#include "rules/incident.h"

#include <algorithm>
#include <array>

namespace lg::rules {
namespace {

constexpr std::array<std::string_view, kIncidentStepCount> kStepNames = {
    "open",    "acknowledged", "dispatched", "accepted",
    "on_site", "released",     "closed",     "false_alarm"};

std::string Name(IncidentStep s) { return std::string(IncidentStepName(s)); }

int TargetMin(const IncidentTargets& t, IncidentStep s) {
  switch (s) {
    case IncidentStep::kAcknowledged:
      return t.acknowledged_min;
    case IncidentStep::kAccepted:
      return t.accepted_min;
    default:
      return t.on_site_min;
  }
}

Error OutOfOrder(const Incident& inc, std::string why) {
  return Error::Permanent("out_of_order", "incident " + std::to_string(inc.id) + ": " + why);
}

}  // namespace

std::string_view IncidentStepName(IncidentStep s) { return kStepNames[static_cast<size_t>(s)]; }

std::optional<IncidentStep> IncidentStepFromName(std::string_view name) {
  for (size_t i = 0; i < kStepNames.size(); ++i) {
    if (kStepNames[i] == name) return static_cast<IncidentStep>(i);
  }
  return std::nullopt;
}

std::string_view IncidentStateName(IncidentState s) {
  switch (s) {
    case IncidentState::kOpen:
      return "open";
    case IncidentState::kClosed:
      return "closed";
    case IncidentState::kFalseAlarm:
      return "false_alarm";
  }
  return "open";
}

bool Incident::Has(IncidentStep s) const { return At(s).has_value(); }

std::optional<WallTime> Incident::At(IncidentStep s) const {
  for (const auto& r : steps) {
    if (r.step == s) return r.at;
  }
  return std::nullopt;
}

IncidentState Incident::state() const {
  if (Has(IncidentStep::kFalseAlarm)) return IncidentState::kFalseAlarm;
  if (Has(IncidentStep::kClosed)) return IncidentState::kClosed;
  return IncidentState::kOpen;
}

IncidentStep Incident::latest() const {
  // Progress, not faults.md's listing: dispatched is recorded with open, so
  // acknowledged is always later in time.
  auto rank = [](IncidentStep s) {
    switch (s) {
      case IncidentStep::kOpen:
        return 0;
      case IncidentStep::kDispatched:
        return 1;
      case IncidentStep::kAcknowledged:
        return 2;
      default:
        return static_cast<int>(s);  // accepted 3 ... false_alarm 7
    }
  };
  IncidentStep best = IncidentStep::kOpen;
  for (const auto& r : steps) {
    if (rank(r.step) > rank(best)) best = r.step;
  }
  return best;
}

WallTime Incident::opened_at() const {
  return At(IncidentStep::kOpen).value_or(steps.empty() ? WallTime{} : steps.front().at);
}

std::optional<WallTime> Incident::closed_at() const {
  if (auto t = At(IncidentStep::kFalseAlarm)) return t;
  return At(IncidentStep::kClosed);
}

Status CheckStep(const Incident& inc, IncidentStep step, Recorder who, const StepDetails& d) {
  using S = IncidentStep;
  // Who, first: these never become allowed by waiting.
  if (step == S::kOpen) {
    return Error::Permanent("forbidden",
                            "an incident is opened once, by POST /api/v1/incidents or by a "
                            "TRAPPED alarm; open cannot be recorded on incident " +
                                std::to_string(inc.id));
  }
  if (step == S::kDispatched && who != Recorder::kSystem) {
    return Error::Permanent("forbidden",
                            "dispatched is recorded by Liftguard itself when the incident "
                            "opens (the contractor is notified at once)");
  }
  if (who == Recorder::kSystem && step != S::kDispatched) {
    return Error::Permanent("forbidden", "Liftguard records only open and dispatched by itself; " +
                                             Name(step) + " is recorded by a person");
  }
  if (step == S::kAcknowledged && who == Recorder::kContractor) {
    return Error::Permanent("forbidden",
                            "acknowledged is recorded by the security room once it has spoken "
                            "to the passengers, not by the contractor");
  }
  // The fields each step carries.
  if (step == S::kAccepted) {
    if (!d.eta_min) {
      return Error::Permanent("bad_field",
                              "field \"eta_min\" is required with accepted: the minutes until "
                              "the rescuer is on site, 1..240");
    }
    if (*d.eta_min < kEtaMinMin || *d.eta_min > kEtaMinMax) {
      return Error::Permanent("bad_field", "field \"eta_min\" must be 1..240 minutes, not " +
                                               std::to_string(*d.eta_min));
    }
  } else if (d.eta_min) {
    return Error::Permanent("bad_field",
                            "field \"eta_min\" goes only with step accepted, not " + Name(step));
  }
  if (d.cause && step != S::kClosed) {
    return Error::Permanent("bad_field",
                            "field \"cause\" goes only with step closed, not " + Name(step));
  }
  // Order.
  if (inc.steps.empty() || !inc.Has(S::kOpen)) {
    return OutOfOrder(inc, "it was never opened");
  }
  if (inc.state() != IncidentState::kOpen) {
    return OutOfOrder(inc, "it is " + std::string(IncidentStateName(inc.state())) +
                               " already; nothing more can be recorded");
  }
  if (inc.Has(step)) {
    return OutOfOrder(inc, Name(step) + " is recorded already; each step is recorded once");
  }
  auto needs = [&](S before) -> Status {
    if (inc.Has(before)) return Status::Ok();
    return OutOfOrder(inc, Name(step) + " needs " + Name(before) + " first");
  };
  switch (step) {
    case S::kAcknowledged:
      // Released needs acknowledged, so "before released" holds by itself;
      // it is checked anyway so the rule does not hang on another one.
      if (inc.Has(S::kReleased)) {
        return OutOfOrder(inc, "acknowledged must come before released");
      }
      return Status::Ok();
    case S::kDispatched:
      return Status::Ok();
    case S::kAccepted:
      return needs(S::kDispatched);
    case S::kOnSite:
      return needs(S::kAccepted);
    case S::kReleased:
      if (Status st = needs(S::kOnSite); !st) return st;
      return needs(S::kAcknowledged);
    case S::kClosed:
      return needs(S::kReleased);
    case S::kFalseAlarm:
      if (inc.Has(S::kReleased)) {
        return OutOfOrder(inc,
                          "passengers were released already; close it (with the cause) "
                          "instead of calling it a false alarm");
      }
      return Status::Ok();
    case S::kOpen:
      break;
  }
  return OutOfOrder(inc, "open cannot be recorded again");
}

Result<Incident> WithStep(const Incident& incident, IncidentStep step, const std::string& by,
                          Recorder who, const StepDetails& details, WallTime at) {
  if (Status st = CheckStep(incident, step, who, details); !st) return st.error();
  Incident next = incident;
  next.steps.push_back(StepRecord{step, at, by, details.note});
  if (step == IncidentStep::kAccepted) next.eta_min = details.eta_min;
  if (step == IncidentStep::kClosed) next.cause = details.cause.value_or("");
  return next;
}

Incident NewIncident(const std::string& elevator, std::optional<int64_t> alarm_id,
                     const std::string& by, const std::string& note, const IncidentTargets& targets,
                     WallTime at) {
  Incident inc;
  inc.elevator = elevator;
  inc.alarm_id = alarm_id;
  inc.targets = targets;
  inc.steps.push_back(StepRecord{IncidentStep::kOpen, at, by, note});
  inc.steps.push_back(StepRecord{IncidentStep::kDispatched, at, "system", ""});
  return inc;
}

std::vector<TargetTiming> Timings(const Incident& inc, WallTime now) {
  std::vector<TargetTiming> out;
  WallTime opened = inc.opened_at();
  // An ended incident stops every clock still running.
  WallTime until = inc.closed_at().value_or(now);
  for (IncidentStep s : kTargetSteps) {
    TargetTiming t;
    t.step = s;
    t.target_min = TargetMin(inc.targets, s);
    auto limit = std::chrono::minutes(t.target_min);
    if (auto at = inc.At(s)) {
      auto elapsed = *at - opened;
      t.elapsed_s =
          std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::seconds>(elapsed).count());
      t.over = elapsed > limit;
    } else {
      t.over = until - opened > limit;
    }
    out.push_back(t);
  }
  return out;
}

}  // namespace lg::rules
