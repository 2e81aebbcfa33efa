#include "rules/escalation.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <utility>

namespace lg::rules {
namespace {

constexpr std::array<std::string_view, 4> kStateNames = {"waiting", "due", "cancelled", "over"};

// Whether an incident that reached `a` has necessarily reached `b`: the
// order rules of the incident contract (accepted needs dispatched, on_site
// needs accepted, released needs on_site and acknowledged, closed needs
// released).
bool Implies(IncidentStep a, IncidentStep b) {
  if (a == b || b == IncidentStep::kOpen) return true;
  switch (a) {
    case IncidentStep::kAccepted:
      return b == IncidentStep::kDispatched;
    case IncidentStep::kOnSite:
      return Implies(IncidentStep::kAccepted, b);
    case IncidentStep::kReleased:
      return Implies(IncidentStep::kOnSite, b) || b == IncidentStep::kAcknowledged;
    case IncidentStep::kClosed:
      return Implies(IncidentStep::kReleased, b);
    case IncidentStep::kOpen:
    case IncidentStep::kAcknowledged:
    case IncidentStep::kDispatched:
    case IncidentStep::kFalseAlarm:
      break;
  }
  return false;
}

// When the incident first reached `step` (or a step implying it).
std::optional<WallTime> ReachedAt(const Incident& incident, IncidentStep step) {
  if (step == IncidentStep::kOpen) return incident.opened_at();
  std::optional<WallTime> at;
  for (const StepRecord& r : incident.steps) {
    if (Implies(r.step, step) && (!at || r.at < *at)) at = r.at;
  }
  return at;
}

struct End {
  IncidentStep step;
  WallTime at;
};

std::optional<End> Ended(const Incident& incident) {
  std::optional<End> end;
  for (const StepRecord& r : incident.steps) {
    if (r.step != IncidentStep::kClosed && r.step != IncidentStep::kFalseAlarm) continue;
    if (!end || r.at < end->at) end = End{r.step, r.at};
  }
  return end;
}

ChainStep Step(int after_min, std::optional<IncidentStep> unless, std::vector<Target> notify) {
  ChainStep s;
  s.after_min = after_min;
  s.unless = unless;
  s.notify = std::move(notify);
  return s;
}

}  // namespace

std::string_view StepStateName(StepState s) {
  auto i = static_cast<size_t>(s);
  return i < kStateNames.size() ? kStateNames[i] : "?";
}

Chain DefaultChain() {
  const Target security{Target::Kind::kSecurityRoom, ""};
  const Target on_call{Target::Kind::kOnCallContractor, ""};
  const Target backup{Target::Kind::kBackupContractor, ""};
  const Target safety{Target::Kind::kContact, "safety-manager"};
  const Target main{Target::Kind::kMainResponsible, ""};
  return {
      Step(0, std::nullopt, {security, on_call}),
      Step(3, IncidentStep::kAcknowledged, {safety}),
      Step(5, IncidentStep::kAccepted, {backup, safety}),
      Step(25, IncidentStep::kOnSite, {main}),
  };
}

std::optional<int> OnSiteDeadlineMin(const Chain& chain) {
  for (const ChainStep& s : chain) {
    if (s.unless == IncidentStep::kOnSite) return s.after_min;
  }
  return std::nullopt;
}

EscalationStatus EvaluateEscalation(const Chain& chain, const Incident& incident, WallTime now) {
  EscalationStatus out;
  const std::optional<End> end = Ended(incident);
  for (size_t i = 0; i < chain.size(); ++i) {
    const ChainStep& step = chain[i];
    StepStatus st;
    st.index = i;
    st.due_at = incident.opened_at() + std::chrono::minutes(step.after_min);
    std::optional<WallTime> unless_at;
    if (step.unless) unless_at = ReachedAt(incident, *step.unless);

    if (st.due_at > now) {
      // Not due yet: whatever has been reached (even with a time that a
      // stepped clock puts after now) already settles it.
      if (unless_at) {
        st.state = StepState::kCancelled;
        st.cancelled_by = step.unless;
      } else if (end) {
        st.state = StepState::kCancelled;
        st.cancelled_by = end->step;
      } else {
        st.state = StepState::kWaiting;
        if (!out.next_due_at || st.due_at < *out.next_due_at) out.next_due_at = st.due_at;
      }
    } else if (unless_at && *unless_at <= st.due_at) {
      st.state = StepState::kCancelled;
      st.cancelled_by = step.unless;
    } else if (end && end->at <= st.due_at) {
      st.state = StepState::kCancelled;
      st.cancelled_by = end->step;
    } else if (end) {
      st.state = StepState::kOver;
    } else {
      st.state = StepState::kDue;
      out.due.push_back(i);
    }
    out.steps.push_back(st);
  }
  return out;
}

std::string EscalationKey(int64_t incident_id, const ChainStep& step, const Recipient& recipient) {
  std::string key =
      "incident:" + std::to_string(incident_id) + ":esc:" + std::to_string(step.after_min) + "m:";
  key += step.unless ? IncidentStepName(*step.unless) : std::string_view("always");
  key += ":";
  key += recipient.Key();
  return key;
}

EscalationPlan PlanEscalation(const Chain& chain, const Incident& incident,
                              std::string_view contractor, const Directory& directory,
                              WallTime now) {
  EscalationPlan plan;
  plan.status = EvaluateEscalation(chain, incident, now);
  for (size_t i : plan.status.due) {
    Resolution r = ResolveTargets(chain[i].notify, contractor, directory);
    for (Recipient& rec : r.recipients) {
      std::string key = EscalationKey(incident.id, chain[i], rec);
      plan.deliveries.push_back(EscalationDelivery{i, std::move(rec), std::move(key)});
    }
    for (Unresolved& u : r.unresolved) plan.gaps.push_back(EscalationGap{i, std::move(u)});
  }
  return plan;
}

}  // namespace lg::rules
