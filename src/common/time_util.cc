#include "common/time_util.h"

#include <chrono>
#include <cstdio>

namespace reach {

namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kWeek = 7 * kDay;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at `pos`; advances `pos` on success.
bool ReadFixed(std::string_view text, size_t& pos, int n, int& out) {
  if (pos + n > text.size()) return false;
  int value = 0;
  for (int i = 0; i < n; ++i) {
    char c = text[pos + i];
    if (!IsDigit(c)) return false;
    value = value * 10 + (c - '0');
  }
  pos += n;
  out = value;
  return true;
}

bool Expect(std::string_view text, size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

std::optional<int64_t> ParseDurationMillis(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (!IsDigit(text[i])) return std::nullopt;  // also rejects a sign
    int64_t count = 0;
    while (i < text.size() && IsDigit(text[i])) {
      if (__builtin_mul_overflow(count, 10, &count) ||
          __builtin_add_overflow(count, text[i] - '0', &count)) {
        return std::nullopt;
      }
      ++i;
    }
    int64_t unit = 0;
    if (text.substr(i, 2) == "ms") {
      unit = 1;
      i += 2;
    } else if (i < text.size()) {
      switch (text[i]) {
        case 's': unit = kSecond; break;
        case 'm': unit = kMinute; break;
        case 'h': unit = kHour; break;
        case 'd': unit = kDay; break;
        case 'w': unit = kWeek; break;
        default: return std::nullopt;
      }
      ++i;
    } else {
      return std::nullopt;  // a number with no unit
    }
    int64_t part = 0;
    if (__builtin_mul_overflow(count, unit, &part) || __builtin_add_overflow(total, part, &total)) {
      return std::nullopt;
    }
  }
  return total;
}

// "Shortest exact" is read as: whole weeks as weeks ("2w"); under an hour, one part in the
// largest unit that divides the value ("90s", "15m", "1500ms") — an operator writes 90s, not
// 1m30s; from an hour up, days/hours/minutes/seconds/millis largest first ("1h30m", "1d12h").
std::string FormatDuration(int64_t millis) {
  if (millis == 0) return "0s";
  std::string out;
  uint64_t rest = static_cast<uint64_t>(millis);
  if (millis < 0) {
    out = "-";
    rest = 0 - rest;  // well defined for INT64_MIN too
  }
  auto append = [&out](uint64_t count, const char* suffix) {
    out += std::to_string(count);
    out += suffix;
  };
  if (rest % kWeek == 0) {
    append(rest / kWeek, "w");
    return out;
  }
  if (rest < static_cast<uint64_t>(kHour)) {
    if (rest % kMinute == 0) append(rest / kMinute, "m");
    else if (rest % kSecond == 0) append(rest / kSecond, "s");
    else append(rest, "ms");
    return out;
  }
  struct Unit {
    uint64_t millis;
    const char* suffix;
  };
  static constexpr Unit kUnits[] = {{kDay, "d"}, {kHour, "h"}, {kMinute, "m"}, {kSecond, "s"}, {1, "ms"}};
  for (const Unit& unit : kUnits) {
    if (rest >= unit.millis) {
      append(rest / unit.millis, unit.suffix);
      rest %= unit.millis;
    }
  }
  return out;
}

// Accepted: YYYY-MM-DD, or YYYY-MM-DD(T|t| )hh:mm:ss[.fraction](Z|z|±hh:mm|±hhmm). A date-time
// without a zone is rejected: its instant depends on a time zone nobody wrote down.
// Fractions beyond milliseconds are truncated. Leap seconds (:60) are rejected.
std::optional<int64_t> ParseTimestampMillis(std::string_view text) {
  size_t pos = 0;
  int year = 0, month = 0, day = 0;
  if (!ReadFixed(text, pos, 4, year) || !Expect(text, pos, '-') || !ReadFixed(text, pos, 2, month) ||
      !Expect(text, pos, '-') || !ReadFixed(text, pos, 2, day)) {
    return std::nullopt;
  }
  std::chrono::year_month_day date{std::chrono::year(year), std::chrono::month(month),
                                   std::chrono::day(day)};
  if (!date.ok()) return std::nullopt;
  int64_t days = std::chrono::sys_days(date).time_since_epoch().count();
  if (pos == text.size()) return days * kDay;

  char sep = text[pos++];
  if (sep != 'T' && sep != 't' && sep != ' ') return std::nullopt;
  int hour = 0, minute = 0, second = 0;
  if (!ReadFixed(text, pos, 2, hour) || !Expect(text, pos, ':') || !ReadFixed(text, pos, 2, minute) ||
      !Expect(text, pos, ':') || !ReadFixed(text, pos, 2, second)) {
    return std::nullopt;
  }
  if (hour > 23 || minute > 59 || second > 59) return std::nullopt;
  int64_t fraction_millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < text.size() && IsDigit(text[pos])) {
      if (digits < 3) fraction_millis = fraction_millis * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 3; ++i) fraction_millis *= 10;
  }
  if (pos >= text.size()) return std::nullopt;  // no zone
  int64_t offset_millis = 0;
  char zone = text[pos++];
  if (zone == '+' || zone == '-') {
    int offset_hours = 0, offset_minutes = 0;
    if (!ReadFixed(text, pos, 2, offset_hours)) return std::nullopt;
    if (pos < text.size() && text[pos] == ':') ++pos;
    if (!ReadFixed(text, pos, 2, offset_minutes)) return std::nullopt;
    if (offset_hours > 23 || offset_minutes > 59) return std::nullopt;
    offset_millis = offset_hours * kHour + offset_minutes * kMinute;
    if (zone == '-') offset_millis = -offset_millis;
  } else if (zone != 'Z' && zone != 'z') {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  return days * kDay + hour * kHour + minute * kMinute + second * kSecond + fraction_millis -
         offset_millis;
}

std::string FormatTimestamp(int64_t unix_millis) {
  int64_t days = FloorDiv(unix_millis, kDay);
  int64_t in_day = unix_millis - days * kDay;
  std::chrono::year_month_day date{std::chrono::sys_days(std::chrono::days(days))};
  const int year = static_cast<int>(date.year());
  if (year < 0 || year > 9999) {
    // Outside what four digits hold: the general (slow) path.
    char buf[64];
    int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", year,
                          static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                          static_cast<int>(in_day / kHour), static_cast<int>(in_day % kHour / kMinute),
                          static_cast<int>(in_day % kMinute / kSecond), static_cast<int>(in_day % kSecond));
    std::string out(buf, static_cast<size_t>(n));
    if (out.compare(out.size() - 5, 4, ".000") == 0) out.erase(out.size() - 5, 4);
    return out;
  }
  // Every event and timer is formatted at least once: digits by hand, not snprintf.
  char buf[24] = "0000-00-00T00:00:00.000";
  auto put = [&](int at, int value, int width) {
    for (int i = width - 1; i >= 0; --i, value /= 10) buf[at + i] = static_cast<char>('0' + value % 10);
  };
  put(0, year, 4);
  put(5, static_cast<int>(static_cast<unsigned>(date.month())), 2);
  put(8, static_cast<int>(static_cast<unsigned>(date.day())), 2);
  put(11, static_cast<int>(in_day / kHour), 2);
  put(14, static_cast<int>(in_day % kHour / kMinute), 2);
  put(17, static_cast<int>(in_day % kMinute / kSecond), 2);
  const int millis = static_cast<int>(in_day % kSecond);
  std::string out;
  if (millis != 0) {
    put(20, millis, 3);
    out.assign(buf, 23);
  } else {
    out.assign(buf, 19);
  }
  out += 'Z';
  return out;
}

}  // namespace reach
