#include "dsl/cron.h"

#include <chrono>
#include <string>

#include <date/date.h>
#include <gtest/gtest.h>

namespace reach::dsl {
namespace {

// Unix milliseconds of a UTC wall-clock time.
int64_t Utc(int y, unsigned m, unsigned d, int h = 0, int mi = 0, int s = 0, int ms = 0) {
  using namespace std::chrono;
  auto t = date::sys_days{date::year{y} / m / d} + hours{h} + minutes{mi} + seconds{s} + milliseconds{ms};
  return duration_cast<milliseconds>(t.time_since_epoch()).count();
}

CronSchedule MustParse(std::string_view spec) {
  std::string error;
  size_t offset = 0;
  auto schedule = CronSchedule::Parse(spec, error, offset);
  EXPECT_TRUE(schedule) << spec << ": " << error;
  return schedule ? *schedule : *CronSchedule::Parse("* * * * *", error, offset);
}

struct ParseError {
  std::string message;
  size_t offset = 0;
};

ParseError ErrorOf(std::string_view spec) {
  ParseError e;
  auto schedule = CronSchedule::Parse(spec, e.message, e.offset);
  EXPECT_FALSE(schedule) << spec << " parsed";
  return e;
}

// ---- parsing ----

TEST(CronParse, AcceptsTheClassicForms) {
  for (std::string_view spec : {"* * * * *", "0 10 * * *", "*/15 9-17 * * mon-fri", "0 0 1,15 * *",
                                "5-55/10 * * jan-mar,DEC *", "0 0 * * 0", "0 0 * * 7", "0 0 * * 5-7",
                                "  0  10 * * *  ", "0\t10\t*\t*\t*", "30 8 1/7 * *", "@daily", "@hourly"}) {
    std::string error;
    size_t offset = 0;
    EXPECT_TRUE(CronSchedule::Parse(spec, error, offset)) << spec << ": " << error;
  }
}

TEST(CronParse, KeepsTheSpecAsWritten) { EXPECT_EQ(MustParse("0 10 * * *").spec(), "0 10 * * *"); }

TEST(CronParse, WrongFieldCountSaysHowManyWereFound) {
  ParseError e = ErrorOf("0 10 * *");
  EXPECT_EQ(e.message, "expected 5 fields (minute hour day-of-month month day-of-week), found 4");
  EXPECT_EQ(e.offset, 8u);
  e = ErrorOf("0 10 * * * 2026");
  EXPECT_EQ(e.message, "expected 5 fields (minute hour day-of-month month day-of-week), found 6");
  EXPECT_EQ(e.offset, 11u);  // the extra field
  e = ErrorOf("");
  EXPECT_EQ(e.message, "expected 5 fields (minute hour day-of-month month day-of-week), found 0");
  EXPECT_EQ(e.offset, 0u);
}

TEST(CronParse, OutOfRangeValueNamesTheFieldAndItsRange) {
  ParseError e = ErrorOf("61 * * * *");
  EXPECT_EQ(e.message, "bad minute field '61': 61 is out of range 0-59");
  EXPECT_EQ(e.offset, 0u);
  e = ErrorOf("0 24 * * *");
  EXPECT_EQ(e.message, "bad hour field '24': 24 is out of range 0-23");
  EXPECT_EQ(e.offset, 2u);
  e = ErrorOf("0 0 0 * *");
  EXPECT_EQ(e.message, "bad day-of-month field '0': 0 is out of range 1-31");
  EXPECT_EQ(e.offset, 4u);
  e = ErrorOf("0 0 * 13 *");
  EXPECT_EQ(e.message, "bad month field '13': 13 is out of range 1-12");
  EXPECT_EQ(e.offset, 6u);
  e = ErrorOf("0 0 * * 1-8");
  EXPECT_EQ(e.message, "bad day-of-week field '1-8': 8 is out of range 0-7");
  EXPECT_EQ(e.offset, 8u);
}

TEST(CronParse, UnknownNamesAreRejected) {
  ParseError e = ErrorOf("0 0 * foo *");
  EXPECT_EQ(e.message, "bad month field 'foo': 'foo' is not a number or a month name (jan..dec)");
  EXPECT_EQ(e.offset, 6u);
  e = ErrorOf("0 0 * * monday");
  EXPECT_EQ(e.message, "bad day-of-week field 'monday': 'monday' is not a number or a day name (sun..sat)");
  e = ErrorOf("x 0 * * *");
  EXPECT_EQ(e.message, "bad minute field 'x': 'x' is not a number");
}

TEST(CronParse, BadRangesStepsAndListsAreRejected) {
  EXPECT_EQ(ErrorOf("5-2 * * * *").message, "bad minute field '5-2': range 5-2 goes backwards");
  EXPECT_EQ(ErrorOf("*/0 * * * *").message, "bad minute field '*/0': a step must be at least 1");
  EXPECT_EQ(ErrorOf("*/x * * * *").message, "bad minute field '*/x': step 'x' is not a number");
  EXPECT_EQ(ErrorOf("1,,2 * * * *").message, "bad minute field '1,,2': a list item is empty");
  EXPECT_EQ(ErrorOf("0 -3 * * *").message, "bad hour field '-3': a value is missing");
}

TEST(CronParse, ADayNoChosenMonthHasIsRejected) {
  ParseError e = ErrorOf("0 0 30 2 *");
  EXPECT_EQ(e.message, "bad day-of-month field '30': no chosen day occurs in the chosen months");
  EXPECT_EQ(e.offset, 4u);
  // With the weekday restricted too, either may match, so the schedule can fire.
  std::string error;
  size_t offset = 0;
  EXPECT_TRUE(CronSchedule::Parse("0 0 30 2 mon", error, offset));
}

TEST(CronParse, UnknownMacroIsRejected) {
  ParseError e = ErrorOf("@often");
  EXPECT_EQ(e.message, "unknown schedule '@often' (use 5 fields, or @yearly, @monthly, @weekly, @daily or @hourly)");
}

// ---- next ticks in UTC ----

TEST(CronNextAfter, DailyInUtcIsStrictlyAfter) {
  CronSchedule s = MustParse("0 10 * * *");
  EXPECT_EQ(s.NextAfter(Utc(2024, 1, 1, 9, 0), "UTC"), Utc(2024, 1, 1, 10, 0));
  EXPECT_EQ(s.NextAfter(Utc(2024, 1, 1, 10, 0), "UTC"), Utc(2024, 1, 2, 10, 0));
  EXPECT_EQ(s.NextAfter(Utc(2024, 1, 1, 9, 59, 59, 999), ""), Utc(2024, 1, 1, 10, 0));
  EXPECT_EQ(s.NextAfter(Utc(2024, 12, 31, 11, 0), "UTC"), Utc(2025, 1, 1, 10, 0));
}

TEST(CronNextAfter, EveryMinuteSkipsPartialMinutes) {
  CronSchedule s = MustParse("* * * * *");
  EXPECT_EQ(s.NextAfter(Utc(2024, 1, 1, 10, 0, 0, 500), "UTC"), Utc(2024, 1, 1, 10, 1));
  EXPECT_EQ(s.NextAfter(-1, "UTC"), 0);  // before the epoch: 1969-12-31T23:59:59.999Z
}

TEST(CronNextAfter, StepsAndRanges) {
  CronSchedule s = MustParse("*/15 9-17 * * *");
  EXPECT_EQ(s.NextAfter(Utc(2024, 1, 1, 10, 7, 30), "UTC"), Utc(2024, 1, 1, 10, 15));
  EXPECT_EQ(s.NextAfter(Utc(2024, 1, 1, 17, 45), "UTC"), Utc(2024, 1, 2, 9, 0));
  EXPECT_EQ(s.NextAfter(Utc(2024, 1, 1, 3, 0), "UTC"), Utc(2024, 1, 1, 9, 0));
}

TEST(CronNextAfter, WeekdayNames) {
  CronSchedule s = MustParse("0 9 * * mon-fri");
  // 2024-01-06 is a Saturday.
  EXPECT_EQ(s.NextAfter(Utc(2024, 1, 6, 12, 0), "UTC"), Utc(2024, 1, 8, 9, 0));
  CronSchedule sunday = MustParse("0 9 * * 7");
  EXPECT_EQ(sunday.NextAfter(Utc(2024, 1, 1), "UTC"), Utc(2024, 1, 7, 9, 0));
}

TEST(CronNextAfter, BothDayFieldsRestrictedMeansEither) {
  // Vixie cron: the 13th, or any Friday. 2024-01-05 is a Friday.
  EXPECT_EQ(MustParse("0 0 13 * fri").NextAfter(Utc(2024, 1, 1), "UTC"), Utc(2024, 1, 5));
  EXPECT_EQ(MustParse("0 0 13 * *").NextAfter(Utc(2024, 1, 1), "UTC"), Utc(2024, 1, 13));
}

TEST(CronNextAfter, AStarredStepDayFieldCountsAsUnrestricted) {
  // `*/10` starts with `*`: days 1, 11, 21, 31 AND Mondays. 2024-01-01 and 2024-03-11 are Mondays.
  CronSchedule s = MustParse("0 0 */10 * mon");
  EXPECT_EQ(s.NextAfter(Utc(2023, 12, 31), "UTC"), Utc(2024, 1, 1));
  EXPECT_EQ(s.NextAfter(Utc(2024, 1, 1), "UTC"), Utc(2024, 3, 11));
}

TEST(CronNextAfter, LeapDayAndShortMonths) {
  EXPECT_EQ(MustParse("0 0 29 2 *").NextAfter(Utc(2024, 3, 1), "UTC"), Utc(2028, 2, 29));
  EXPECT_EQ(MustParse("0 0 31 * *").NextAfter(Utc(2024, 4, 1), "UTC"), Utc(2024, 5, 31));
}

TEST(CronNextAfter, Macros) {
  EXPECT_EQ(MustParse("@daily").NextAfter(Utc(2024, 1, 1, 5), "UTC"), Utc(2024, 1, 2));
  EXPECT_EQ(MustParse("@yearly").NextAfter(Utc(2024, 1, 1, 5), "UTC"), Utc(2025, 1, 1));
}

TEST(CronNextAfter, UnknownZoneHasNoTick) {
  EXPECT_EQ(MustParse("0 10 * * *").NextAfter(Utc(2024, 1, 1), "Mars/Olympus_Mons"), -1);
}

// ---- time zones ----

TEST(CronNextAfter, ShanghaiIsUtcPlusEight) {
  CronSchedule s = MustParse("0 10 * * *");
  EXPECT_EQ(s.NextAfter(Utc(2024, 1, 1, 0, 0), "Asia/Shanghai"), Utc(2024, 1, 1, 2, 0));
  EXPECT_EQ(s.NextAfter(Utc(2024, 1, 1, 2, 0), "Asia/Shanghai"), Utc(2024, 1, 2, 2, 0));
  // 23:00 UTC on Jan 1 is 07:00 on Jan 2 in Shanghai: the day boundary is local.
  EXPECT_EQ(s.NextAfter(Utc(2024, 1, 1, 23, 0), "Asia/Shanghai"), Utc(2024, 1, 2, 2, 0));
}

TEST(CronNextAfter, ShanghaiWeekdaysAreLocalWeekdays) {
  // 2024-01-05 20:00 UTC is Saturday 04:00 in Shanghai: the next weekday 09:00 is Monday's.
  CronSchedule s = MustParse("0 9 * * mon-fri");
  EXPECT_EQ(s.NextAfter(Utc(2024, 1, 5, 20, 0), "Asia/Shanghai"), Utc(2024, 1, 8, 1, 0));
}

TEST(CronNextAfter, NewYorkFollowsItsOffsetAcrossTheYear) {
  CronSchedule s = MustParse("0 9 * * *");
  EXPECT_EQ(s.NextAfter(Utc(2024, 1, 15), "America/New_York"), Utc(2024, 1, 15, 14, 0));  // EST
  EXPECT_EQ(s.NextAfter(Utc(2024, 7, 15), "America/New_York"), Utc(2024, 7, 15, 13, 0));  // EDT
  // The day after spring forward (2024-03-10) is on EDT.
  EXPECT_EQ(s.NextAfter(Utc(2024, 3, 9, 15, 0), "America/New_York"), Utc(2024, 3, 10, 13, 0));
}

TEST(CronNextAfter, NewYorkSpringForwardSkipsTheMissingTime) {
  // 2024-03-10 02:00 EST jumps to 03:00 EDT: 02:30 does not exist that day.
  CronSchedule s = MustParse("30 2 * * *");
  EXPECT_EQ(s.NextAfter(Utc(2024, 3, 10, 5, 0), "America/New_York"), Utc(2024, 3, 11, 6, 30));
  // Hourly: 01:00 EST, then 03:00 EDT (02:00 does not exist).
  CronSchedule hourly = MustParse("0 * * * *");
  EXPECT_EQ(hourly.NextAfter(Utc(2024, 3, 10, 6, 0), "America/New_York"), Utc(2024, 3, 10, 7, 0));
}

TEST(CronNextAfter, NewYorkFallBackFiresAnAmbiguousTimeOnce) {
  // 2024-11-03 02:00 EDT falls back to 01:00 EST: 01:30 happens at 05:30Z and again at 06:30Z.
  CronSchedule s = MustParse("30 1 * * *");
  EXPECT_EQ(s.NextAfter(Utc(2024, 11, 3, 4, 0), "America/New_York"), Utc(2024, 11, 3, 5, 30));
  EXPECT_EQ(s.NextAfter(Utc(2024, 11, 3, 5, 30), "America/New_York"), Utc(2024, 11, 4, 6, 30));
  // Starting inside the repeated hour (01:10 EST) does not fire 01:30 a second time.
  EXPECT_EQ(s.NextAfter(Utc(2024, 11, 3, 6, 10), "America/New_York"), Utc(2024, 11, 4, 6, 30));
  // Hourly: 01:00 EDT, then 02:00 EST, two real hours later.
  CronSchedule hourly = MustParse("0 * * * *");
  EXPECT_EQ(hourly.NextAfter(Utc(2024, 11, 3, 5, 0), "America/New_York"), Utc(2024, 11, 3, 7, 0));
}

TEST(CronNextAfter, FarTicksAreFoundQuickly) {
  // Leap days only, from just after one: four years of stepping, by months and days.
  CronSchedule s = MustParse("59 23 29 2 *");
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(s.NextAfter(Utc(2024, 3, 1), "Europe/Berlin"), Utc(2028, 2, 29, 22, 59));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

}  // namespace
}  // namespace reach::dsl
