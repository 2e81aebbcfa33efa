#include "core/rfc3339.h"

#include <gtest/gtest.h>

namespace lg {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

int64_t Ms(WallTime t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}

TEST(Rfc3339, ReadsUtcOffsetsAndFractions) {
  // 2026-11-22T10:30:00Z is 1795343400 s after the epoch.
  auto z = ParseRfc3339("2026-11-22T10:30:00Z");
  ASSERT_TRUE(z);
  EXPECT_EQ(Ms(*z), 1795343400000);
  auto cst = ParseRfc3339("2026-11-22T18:30:00+08:00");
  ASSERT_TRUE(cst);
  EXPECT_EQ(*cst, *z);
  auto west = ParseRfc3339("2026-11-22T05:00:00.25-05:30");
  ASSERT_TRUE(west);
  EXPECT_EQ(Ms(*west), 1795343400250);
  EXPECT_EQ(ParseRfc3339("2026-11-22 10:30:00.123456z"), *z + milliseconds(123));
}

TEST(Rfc3339, RefusesWhatIsNotAnInstant) {
  for (const char* bad :
       {"2026-11-22T10:30:00", "2026-11-22", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
        "2026-11-22T24:00:00Z", "2026-11-22T10:30:00.Z", "2026-11-22T10:30:00+0800",
        "1969-12-31T23:59:59Z", "garbage", "2026-11-22T10:30:00Z trailing"}) {
    EXPECT_FALSE(ParseRfc3339(bad)) << bad;
  }
  EXPECT_TRUE(ParseRfc3339("2028-02-29T00:00:00Z"));
}

}  // namespace
}  // namespace lg
