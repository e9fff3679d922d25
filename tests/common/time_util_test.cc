#include "common/time_util.h"

#include <gtest/gtest.h>

namespace reach {
namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kJan1st2026 = 1767225600000;  // 2026-01-01T00:00:00Z

TEST(ParseDurationMillis, ReadsEveryUnit) {
  EXPECT_EQ(ParseDurationMillis("500ms"), 500);
  EXPECT_EQ(ParseDurationMillis("90s"), 90 * kSecond);
  EXPECT_EQ(ParseDurationMillis("15m"), 15 * kMinute);
  EXPECT_EQ(ParseDurationMillis("2h"), 2 * kHour);
  EXPECT_EQ(ParseDurationMillis("3d"), 3 * kDay);
  EXPECT_EQ(ParseDurationMillis("2w"), 14 * kDay);
}

TEST(ParseDurationMillis, AddsUpSeveralParts) {
  EXPECT_EQ(ParseDurationMillis("1h30m"), 90 * kMinute);
  EXPECT_EQ(ParseDurationMillis("1d2h3m4s5ms"), kDay + 2 * kHour + 3 * kMinute + 4 * kSecond + 5);
}

TEST(ParseDurationMillis, AcceptsZero) { EXPECT_EQ(ParseDurationMillis("0s"), 0); }

TEST(ParseDurationMillis, RejectsTextThatIsNotADuration) {
  for (const char* text : {"", "10", "h", "-5s", "+5s", "1.5h", "5x", " 5s", "5s ", "5 s", "1h30", "ms"}) {
    EXPECT_EQ(ParseDurationMillis(text), std::nullopt) << text;
  }
}

TEST(ParseDurationMillis, RejectsOverflow) {
  EXPECT_EQ(ParseDurationMillis("99999999999999999999ms"), std::nullopt);
  EXPECT_EQ(ParseDurationMillis("999999999999999d"), std::nullopt);
  EXPECT_EQ(ParseDurationMillis("9223372036854775807ms1ms"), std::nullopt);
}

TEST(FormatDuration, WritesTheHeaderExamples) {
  EXPECT_EQ(FormatDuration(90000), "90s");
  EXPECT_EQ(FormatDuration(86400000), "1d");
  EXPECT_EQ(FormatDuration(5400000), "1h30m");
}

TEST(FormatDuration, UsesOneUnitBelowAnHour) {
  EXPECT_EQ(FormatDuration(15 * kMinute), "15m");
  EXPECT_EQ(FormatDuration(59 * kMinute + kSecond), "3541s");
  EXPECT_EQ(FormatDuration(1500), "1500ms");
}

TEST(FormatDuration, SplitsAnHourAndMoreIntoParts) {
  EXPECT_EQ(FormatDuration(kDay + 12 * kHour), "1d12h");
  EXPECT_EQ(FormatDuration(kHour + kMinute + 30 * kSecond), "1h1m30s");
  EXPECT_EQ(FormatDuration(10 * kDay), "10d");
}

TEST(FormatDuration, UsesWeeksOnlyForWholeWeeks) { EXPECT_EQ(FormatDuration(14 * kDay), "2w"); }

TEST(FormatDuration, WritesZeroAndNegativeDurations) {
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(-90000), "-90s");
  EXPECT_EQ(FormatDuration(-(kDay + kHour)), "-1d1h");
  EXPECT_EQ(FormatDuration(INT64_MIN), "-106751991167d7h12m55s808ms");  // no overflow
}

TEST(FormatDuration, RoundTripsThroughParse) {
  for (int64_t ms : {int64_t{1}, int64_t{999}, kSecond, 61 * kSecond, kHour, 25 * kHour + 1, 7 * kDay,
                     8 * kDay + 3 * kMinute, int64_t{123456789012}}) {
    EXPECT_EQ(ParseDurationMillis(FormatDuration(ms)), ms) << FormatDuration(ms);
  }
}

TEST(ParseTimestampMillis, ReadsUtc) {
  EXPECT_EQ(ParseTimestampMillis("2026-01-01T00:00:00Z"), kJan1st2026);
  EXPECT_EQ(ParseTimestampMillis("1970-01-01T00:00:00Z"), 0);
}

TEST(ParseTimestampMillis, AppliesTheOffset) {
  EXPECT_EQ(ParseTimestampMillis("2026-01-01T08:00:00+08:00"), kJan1st2026);
  EXPECT_EQ(ParseTimestampMillis("2025-12-31T18:30:00-05:30"), kJan1st2026);
  EXPECT_EQ(ParseTimestampMillis("2026-01-01T08:00:00+0800"), kJan1st2026);
}

TEST(ParseTimestampMillis, KeepsMillisecondsAndTruncatesFinerFractions) {
  EXPECT_EQ(ParseTimestampMillis("2026-01-01T00:00:00.123Z"), kJan1st2026 + 123);
  EXPECT_EQ(ParseTimestampMillis("2026-01-01T00:00:00.5Z"), kJan1st2026 + 500);
  EXPECT_EQ(ParseTimestampMillis("2026-01-01T00:00:00.123999Z"), kJan1st2026 + 123);
}

TEST(ParseTimestampMillis, ReadsABareDateAsMidnightUtc) {
  EXPECT_EQ(ParseTimestampMillis("2026-01-01"), kJan1st2026);
}

TEST(ParseTimestampMillis, AcceptsTheSeparatorsRfc3339Allows) {
  EXPECT_EQ(ParseTimestampMillis("2026-01-01t00:00:00z"), kJan1st2026);
  EXPECT_EQ(ParseTimestampMillis("2026-01-01 00:00:00Z"), kJan1st2026);
}

TEST(ParseTimestampMillis, KnowsLeapYears) {
  EXPECT_TRUE(ParseTimestampMillis("2024-02-29T00:00:00Z").has_value());
  EXPECT_EQ(ParseTimestampMillis("2025-02-29T00:00:00Z"), std::nullopt);
  EXPECT_EQ(ParseTimestampMillis("2100-02-29"), std::nullopt);
}

TEST(ParseTimestampMillis, RejectsMalformedOrZonelessText) {
  for (const char* text : {"", "2026", "2026-1-01", "2026-13-01", "2026-04-31", "2026-01-01T24:00:00Z",
                           "2026-01-01T10:60:00Z", "2026-01-01T10:00:60Z", "2026-01-01T10:00:00",
                           "2026-01-01T10:00Z", "2026-01-01T10:00:00.Z", "2026-01-01T10:00:00Zjunk",
                           "2026-01-01T10:00:00+8", "2026-01-01T10:00:00+24:00", "2026-01-01X10:00:00Z"}) {
    EXPECT_EQ(ParseTimestampMillis(text), std::nullopt) << text;
  }
}

TEST(FormatTimestamp, WritesUtcWithoutMillisWhenWhole) {
  EXPECT_EQ(FormatTimestamp(kJan1st2026), "2026-01-01T00:00:00Z");
  EXPECT_EQ(FormatTimestamp(0), "1970-01-01T00:00:00Z");
}

TEST(FormatTimestamp, EdgesOfTheFourDigitYearsAndBeforeTheEpoch) {
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatTimestamp(253402300799999), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatTimestamp(253402300800000), "10000-01-01T00:00:00Z");
  EXPECT_EQ(FormatTimestamp(951782400000 + 45296007), "2000-02-29T12:34:56.007Z");
}

TEST(FormatTimestamp, WritesMillisWhenPresent) {
  EXPECT_EQ(FormatTimestamp(kJan1st2026 + 123), "2026-01-01T00:00:00.123Z");
  EXPECT_EQ(FormatTimestamp(kJan1st2026 + 5), "2026-01-01T00:00:00.005Z");
}

TEST(FormatTimestamp, WritesInstantsBeforeTheEpoch) {
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatTimestamp(-kDay), "1969-12-31T00:00:00Z");
}

TEST(FormatTimestamp, RoundTripsThroughParse) {
  for (int64_t ms : {int64_t{0}, kJan1st2026, kJan1st2026 + 86399999, int64_t{951782400000} /* 2000-02-29 */,
                     int64_t{-2208988800000} /* 1900-01-01 */, int64_t{253402300799999} /* 9999-12-31 */}) {
    EXPECT_EQ(ParseTimestampMillis(FormatTimestamp(ms)), ms) << FormatTimestamp(ms);
  }
}

}  // namespace
}  // namespace reach
