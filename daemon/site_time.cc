#include "daemon/site_time.h"

namespace lg {

namespace chr = std::chrono;

rules::Date SiteTime::LocalDate(WallTime t) const {
  return rules::Date{chr::floor<chr::days>(t + offset_)};
}

int SiteTime::LocalMinuteOfDay(WallTime t) const {
  auto local = t + offset_;
  return static_cast<int>(chr::floor<chr::minutes>(local - chr::floor<chr::days>(local)).count());
}

WallTime SiteTime::At(rules::Date d, int minute_of_day) const {
  return WallTime(chr::sys_days(d)) + chr::minutes(minute_of_day) - offset_;
}

}  // namespace lg
