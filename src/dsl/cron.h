#pragma once
// Cron schedules for `trigger: { schedule: "0 10 * * *", tz: Asia/Shanghai }`: the classic
// 5 fields (minute hour day-of-month month day-of-week) with `*`, lists `a,b`, ranges `a-b`,
// steps `*/n` and `a-b/n`, month and weekday names (jan..dec, sun..sat; 0 and 7 are Sunday),
// and Vixie cron's rule that when both day fields are restricted, either may match.

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace reach::dsl {

class CronSchedule {
 public:
  // Parses `spec`. On failure returns nullopt and sets `error` to a message naming the field
  // and `error_offset` to the byte offset in `spec` where the bad field starts.
  static std::optional<CronSchedule> Parse(std::string_view spec, std::string& error,
                                           size_t& error_offset);

  // The first tick strictly after `after_unix_millis`, evaluated in local time of `tz`
  // (an IANA name; "" or "UTC" for UTC). Returns -1 if none within 5 years.
  // Across DST: a local time that does not exist is skipped; an ambiguous one fires once.
  int64_t NextAfter(int64_t after_unix_millis, std::string_view tz) const;

  const std::string& spec() const { return spec_; }

 private:
  std::string spec_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;      // 1..31
  std::bitset<13> months_;    // 1..12
  std::bitset<7> weekdays_;   // 0..6, Sunday = 0
  bool day_restricted_ = false;
  bool weekday_restricted_ = false;
};

}  // namespace reach::dsl
