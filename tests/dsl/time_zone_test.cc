#include "dsl/time_zone.h"

#include <gtest/gtest.h>

namespace reach::dsl {
namespace {

TEST(TimeZone, KnowsIanaNamesAndUtc) {
  EXPECT_TRUE(IsKnownTimeZone("Asia/Shanghai"));
  EXPECT_TRUE(IsKnownTimeZone("America/New_York"));
  EXPECT_TRUE(IsKnownTimeZone("UTC"));
  EXPECT_TRUE(IsKnownTimeZone("Etc/UTC"));
}

TEST(TimeZone, RejectsUnknownNamesWithoutThrowing) {
  EXPECT_FALSE(IsKnownTimeZone("Asia/Shanghia"));
  EXPECT_FALSE(IsKnownTimeZone(""));
  EXPECT_FALSE(IsKnownTimeZone("../../etc/passwd"));
  EXPECT_FALSE(IsKnownTimeZone("asia/shanghai"));  // names are case-sensitive
}

}  // namespace
}  // namespace reach::dsl
