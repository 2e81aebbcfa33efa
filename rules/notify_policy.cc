#include "rules/notify_policy.h"

#include <algorithm>
#include <utility>

namespace lg::rules {
namespace {

constexpr std::string_view kSafetyManager = "safety-manager";

bool IsSafetyManager(std::string_view id) {
  constexpr std::string_view kPrefix = "safety-manager-";
  return id == kSafetyManager || (id.starts_with(kPrefix) && id.size() > kPrefix.size());
}

std::string TransitionName(const Transition& t) {
  return std::to_string(t.alarm_id) + ".r" + std::to_string(t.alarm.revision);
}

}  // namespace

const std::vector<Target>& SeverityRoutes::For(Severity s) const {
  switch (s) {
    case Severity::kCritical:
      return critical;
    case Severity::kMajor:
      return major;
    case Severity::kMinor:
      break;
  }
  return minor;
}

const std::vector<Target>& SeverityRoutes::For(AlarmType t, Severity s) const {
  if (t == AlarmType::kMaintenanceOverdue) return maintenance;
  if (IsComplianceAlarm(t)) return records;
  return For(s);
}

SeverityRoutes DefaultSeverityRoutes(const Directory& directory) {
  const Target security{Target::Kind::kSecurityRoom, ""};
  const Target on_call{Target::Kind::kOnCallContractor, ""};
  std::vector<Target> managers;
  for (const Contact& c : directory.contacts) {
    if (IsSafetyManager(c.id)) managers.push_back(Target{Target::Kind::kContact, c.id});
  }
  if (managers.empty()) {
    managers.push_back(Target{Target::Kind::kContact, std::string(kSafetyManager)});
  }
  SeverityRoutes r;
  r.critical = {security, on_call};
  r.critical.insert(r.critical.end(), managers.begin(), managers.end());
  r.major = {security};
  r.major.insert(r.major.end(), managers.begin(), managers.end());
  r.minor = {security};
  r.records = {security};
  r.records.insert(r.records.end(), managers.begin(), managers.end());
  r.maintenance = r.records;
  r.maintenance.push_back(on_call);
  return r;
}

bool NotifiedByEscalation(AlarmType t) { return t == AlarmType::kTrapped; }

std::string AlarmNoticeKey(const Transition& t, const Recipient& recipient) {
  return "alarm:" + std::to_string(t.alarm_id) + ":r" + std::to_string(t.alarm.revision) + ":" +
         recipient.Key();
}

std::string DigestKey(const Digest& d, const Recipient& recipient) {
  std::string name = d.items.empty() ? "empty" : TransitionName(d.items.front());
  return "digest:" + name + ":" + recipient.Key();
}

AlarmNotice PlanAlarmNotice(const Transition& t, std::string_view contractor,
                            const SeverityRoutes& routes, const Directory& directory) {
  AlarmNotice out;
  if (t.notify != Notify::kNow || NotifiedByEscalation(t.type)) return out;
  Resolution r = ResolveTargets(routes.For(t.type, t.alarm.severity), contractor, directory);
  for (Recipient& rec : r.recipients) {
    std::string key = AlarmNoticeKey(t, rec);
    out.deliveries.push_back(AlarmDelivery{std::move(rec), std::move(key)});
  }
  out.unresolved = std::move(r.unresolved);
  return out;
}

DigestNotice PlanDigest(const Digest& d, const ContractorOf& contractor_of,
                        const SeverityRoutes& routes, const Directory& directory) {
  DigestNotice out;
  for (size_t i = 0; i < d.items.size(); ++i) {
    const Transition& t = d.items[i];
    if (NotifiedByEscalation(t.type)) continue;
    std::string contractor = contractor_of ? contractor_of(t.elevator) : std::string();
    Resolution r = ResolveTargets(routes.For(t.type, t.alarm.severity), contractor, directory);
    for (Recipient& rec : r.recipients) {
      std::string key = DigestKey(d, rec);
      auto it = std::find_if(out.deliveries.begin(), out.deliveries.end(),
                             [&](const DigestDelivery& x) { return x.key == key; });
      if (it == out.deliveries.end()) {
        out.deliveries.push_back(DigestDelivery{std::move(rec), std::move(key), {i}});
      } else {
        it->items.push_back(i);
      }
    }
    for (Unresolved& u : r.unresolved) {
      bool seen = std::any_of(out.unresolved.begin(), out.unresolved.end(), [&](const auto& x) {
        return x.target == u.target && x.reason == u.reason;
      });
      if (!seen) out.unresolved.push_back(std::move(u));
    }
  }
  return out;
}

}  // namespace lg::rules
