// SiteTime: the site's civil time. The records count in the site's local
// dates and the daily compliance evaluation runs at a local time of day.
// The site's offset from UTC comes from [site] timezone, which the
// configuration accepts only for zones without daylight saving
// (SiteConfig::utc_offset_min), so one offset holds all year; notification
// texts show times at the same offset.
//
// Thread-safety: an immutable value.
#pragma once

#include <chrono>

#include "core/clock.h"
#include "rules/compliance.h"

namespace lg {

class SiteTime {
 public:
  SiteTime() = default;  // UTC
  static SiteTime Fixed(std::chrono::minutes offset) { return SiteTime(offset); }

  std::chrono::minutes offset() const { return offset_; }
  rules::Date LocalDate(WallTime t) const;
  // Minutes since local midnight at `t`.
  int LocalMinuteOfDay(WallTime t) const;
  // The instant local date `d` reaches `minute_of_day`.
  WallTime At(rules::Date d, int minute_of_day) const;

 private:
  explicit SiteTime(std::chrono::minutes offset) : offset_(offset) {}
  std::chrono::minutes offset_{0};
};

}  // namespace lg
