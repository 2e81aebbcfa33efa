// ParseRfc3339: the one reader of the instants the API, the CLI and CSV
// files take: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) (a space or a
// lower-case t may stand for the T). Fractions beyond milliseconds are
// dropped. The offset is required: a time without one is ambiguous on a
// site whose operators read local time.
//
// Years 1970..2200 only (the clock counts nanoseconds from 1970 and ends in
// 2262). Pure; thread-safe.
#pragma once

#include <optional>
#include <string>

#include "core/clock.h"

namespace lg {

// nullopt when `s` is not such an instant, or names a day that does not
// exist (31 April, 29 February of a common year).
std::optional<WallTime> ParseRfc3339(const std::string& s);

}  // namespace lg
