// Cron schedules: parsing the 5 classic fields and finding the next tick in a time zone.
//
// NextAfter works in the zone's local time and steps field by field (month, then day, then
// hour, then minute), so the search costs a few hundred steps at worst, never a scan of every
// minute. A candidate local minute is mapped back to UTC with the zone's rules:
//   - unique:      fires;
//   - nonexistent  (inside a spring-forward gap): skipped, per the contract in cron.h;
//   - ambiguous    (inside a fall-back overlap): fires at its first occurrence only; a search
//                  that starts inside the repeated hour does not fire it again.
#include "dsl/cron.h"

#include <array>
#include <cctype>
#include <chrono>
#include <exception>

#include <date/date.h>
#include <date/tz.h>

namespace reach::dsl {
namespace {

constexpr std::string_view kFieldList = "minute hour day-of-month month day-of-week";

struct FieldSpec {
  std::string_view name;
  int min;
  int max;  // inclusive; day-of-week allows 7 (Sunday) and folds it onto 0
  const std::array<std::string_view, 12>* names;  // index 0 = `min`; null when numeric only
  std::string_view names_hint;
};

constexpr std::array<std::string_view, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 12> kDayNames = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

constexpr std::array<FieldSpec, 5> kFields = {{
    {"minute", 0, 59, nullptr, ""},
    {"hour", 0, 23, nullptr, ""},
    {"day-of-month", 1, 31, nullptr, ""},
    {"month", 1, 12, &kMonthNames, " or a month name (jan..dec)"},
    {"day-of-week", 0, 7, &kDayNames, " or a day name (sun..sat)"},
}};

// Vixie cron's and cronie's shorthands.
struct Macro {
  std::string_view name;
  std::string_view fields;
};
constexpr std::array<Macro, 7> kMacros = {{{"@yearly", "0 0 1 1 *"},
                                           {"@annually", "0 0 1 1 *"},
                                           {"@monthly", "0 0 1 * *"},
                                           {"@weekly", "0 0 * * 0"},
                                           {"@daily", "0 0 * * *"},
                                           {"@midnight", "0 0 * * *"},
                                           {"@hourly", "0 * * * *"}}};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// One value: a number or, where the field has them, a name. Sets `error` on failure.
bool ParseValue(std::string_view text, const FieldSpec& field, int& value, std::string& error) {
  if (text.empty()) {
    error = "a value is missing";
    return false;
  }
  if (std::isdigit(static_cast<unsigned char>(text[0]))) {
    int v = 0;
    for (char c : text) {
      if (!std::isdigit(static_cast<unsigned char>(c))) {
        error = "'" + std::string(text) + "' is not a number" + std::string(field.names_hint);
        return false;
      }
      if (v <= 1000) v = v * 10 + (c - '0');  // past 1000 it is out of range anyway
    }
    if (v < field.min || v > field.max) {
      error = std::string(text) + " is out of range " + std::to_string(field.min) + "-" +
              std::to_string(field.max);
      return false;
    }
    value = v;
    return true;
  }
  if (field.names) {
    std::string lower = Lower(text);
    for (size_t i = 0; i < field.names->size(); ++i) {
      if (!(*field.names)[i].empty() && lower == (*field.names)[i]) {
        value = field.min + static_cast<int>(i);
        return true;
      }
    }
  }
  error = "'" + std::string(text) + "' is not a number" + std::string(field.names_hint);
  return false;
}

// One field: a comma list of `*`, `a`, `a-b`, each optionally `/step`. Sets bit v of `mask` for
// every value selected (before folding day-of-week 7 onto 0).
bool ParseField(std::string_view text, const FieldSpec& field, uint64_t& mask, std::string& error) {
  mask = 0;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string_view item = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    if (item.empty()) {
      error = "a list item is empty";
      return false;
    }
    std::string_view range = item;
    int step = 1;
    if (size_t slash = item.find('/'); slash != std::string_view::npos) {
      range = item.substr(0, slash);
      std::string_view step_text = item.substr(slash + 1);
      int s = 0;
      bool ok = !step_text.empty();
      for (char c : step_text) {
        if (!std::isdigit(static_cast<unsigned char>(c)) || s > 1000) ok = false;
        else s = s * 10 + (c - '0');
      }
      if (!ok) {
        error = "step '" + std::string(step_text) + "' is not a number";
        return false;
      }
      if (s < 1) {
        error = "a step must be at least 1";
        return false;
      }
      step = s;
    }
    int lo = 0, hi = 0;
    if (range == "*") {
      lo = field.min;
      hi = field.max == 7 ? 6 : field.max;  // `*` in day-of-week is 0-6, not 0-7
    } else if (size_t dash = range.find('-'); dash != std::string_view::npos) {
      if (!ParseValue(range.substr(0, dash), field, lo, error) ||
          !ParseValue(range.substr(dash + 1), field, hi, error))
        return false;
      if (lo > hi) {
        error = "range " + std::string(range) + " goes backwards";
        return false;
      }
    } else {
      if (!ParseValue(range, field, lo, error)) return false;
      // `a/n` means from a to the end of the field, as in cronie.
      hi = step > 1 || item.find('/') != std::string_view::npos ? field.max : lo;
      if (hi != lo && field.max == 7) hi = 6;
    }
    for (int v = lo; v <= hi; v += step) mask |= uint64_t{1} << v;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return true;
}

constexpr int kDaysInMonth[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

}  // namespace

std::optional<CronSchedule> CronSchedule::Parse(std::string_view spec, std::string& error,
                                                size_t& error_offset) {
  CronSchedule out;
  out.spec_ = std::string(spec);

  // Split into fields, remembering where each starts so errors can point at it.
  std::string_view text = spec;
  std::string expanded;
  size_t first = text.find_first_not_of(" \t");
  if (first != std::string_view::npos && text[first] == '@') {
    size_t end = text.find_last_not_of(" \t");
    std::string name = Lower(text.substr(first, end - first + 1));
    for (const Macro& m : kMacros)
      if (name == m.name) expanded = std::string(m.fields);
    if (expanded.empty()) {
      error = "unknown schedule '" + std::string(text.substr(first, end - first + 1)) +
              "' (use 5 fields, or @yearly, @monthly, @weekly, @daily or @hourly)";
      error_offset = first;
      return std::nullopt;
    }
    text = expanded;
  }
  std::vector<std::pair<std::string_view, size_t>> fields;
  for (size_t i = 0; i < text.size();) {
    if (text[i] == ' ' || text[i] == '\t') {
      ++i;
      continue;
    }
    size_t j = text.find_first_of(" \t", i);
    if (j == std::string_view::npos) j = text.size();
    fields.emplace_back(text.substr(i, j - i), i);
    i = j;
  }
  if (fields.size() != kFields.size()) {
    error = "expected 5 fields (" + std::string(kFieldList) + "), found " + std::to_string(fields.size());
    error_offset = fields.size() > kFields.size() ? fields[kFields.size()].second : spec.size();
    if (fields.empty()) error_offset = 0;
    return std::nullopt;
  }

  uint64_t masks[5] = {};
  for (size_t f = 0; f < kFields.size(); ++f) {
    std::string why;
    if (!ParseField(fields[f].first, kFields[f], masks[f], why)) {
      error = "bad " + std::string(kFields[f].name) + " field '" + std::string(fields[f].first) + "': " + why;
      error_offset = fields[f].second;
      return std::nullopt;
    }
  }
  for (int v = 0; v < 60; ++v) out.minutes_[v] = masks[0] >> v & 1;
  for (int v = 0; v < 24; ++v) out.hours_[v] = masks[1] >> v & 1;
  for (int v = 1; v <= 31; ++v) out.days_[v] = masks[2] >> v & 1;
  for (int v = 1; v <= 12; ++v) out.months_[v] = masks[3] >> v & 1;
  for (int v = 0; v < 7; ++v) out.weekdays_[v] = masks[4] >> v & 1;
  if (masks[4] >> 7 & 1) out.weekdays_[0] = true;  // 7 is Sunday too
  // Vixie cron: a day field is "restricted" unless it starts with `*` (so `*/2` is not).
  out.day_restricted_ = fields[2].first[0] != '*';
  out.weekday_restricted_ = fields[4].first[0] != '*';

  // A day-of-month that no chosen month has (`0 0 30 2 *`) would never fire: say so now rather
  // than letting the trigger sit silent forever. With both day fields restricted, the weekday
  // alone can match, so the schedule is fine.
  if (!(out.day_restricted_ && out.weekday_restricted_)) {
    bool possible = false;
    for (int m = 1; m <= 12 && !possible; ++m)
      for (int d = 1; d <= kDaysInMonth[m] && !possible; ++d) possible = out.months_[m] && out.days_[d];
    if (!possible) {
      error = "bad day-of-month field '" + std::string(fields[2].first) +
              "': no chosen day occurs in the chosen months";
      error_offset = fields[2].second;
      return std::nullopt;
    }
  }
  return out;
}

int64_t CronSchedule::NextAfter(int64_t after_unix_millis, std::string_view tz) const {
  using namespace std::chrono;
  const date::time_zone* zone = nullptr;
  if (!tz.empty() && tz != "UTC") {
    try {
      zone = date::locate_zone(tz);
    } catch (const std::exception&) {
      return -1;  // the compiler checks zone names; an unknown one here has no next tick
    }
  }
  const sys_time<milliseconds> after{milliseconds{after_unix_millis}};
  const sys_seconds start = floor<minutes>(after) + minutes{1};
  auto to_local = [&](sys_seconds t) {
    return zone ? zone->to_local(t) : date::local_seconds{t.time_since_epoch()};
  };

  date::local_seconds t = floor<minutes>(to_local(start));
  const date::local_seconds limit = t + date::years{5};
  while (t < limit) {
    const date::local_days day = floor<date::days>(t);
    const date::year_month_day ymd{day};
    if (!months_[static_cast<unsigned>(ymd.month())]) {
      date::year_month next = ymd.year() / ymd.month() + date::months{1};
      t = date::local_days{next / 1};
      continue;
    }
    const bool dom = days_[static_cast<unsigned>(ymd.day())];
    const bool dow = weekdays_[date::weekday{day}.c_encoding()];
    const bool day_ok = day_restricted_ && weekday_restricted_ ? dom || dow : dom && dow;
    if (!day_ok) {
      t = day + date::days{1};
      continue;
    }
    const auto since_midnight = duration_cast<minutes>(t - day);
    int hour = static_cast<int>(since_midnight.count() / 60);
    int minute = static_cast<int>(since_midnight.count() % 60);
    int next_hour = hour;
    while (next_hour < 24 && !hours_[next_hour]) ++next_hour;
    if (next_hour == 24) {
      t = day + date::days{1};
      continue;
    }
    if (next_hour != hour) minute = 0;
    int next_minute = minute;
    while (next_minute < 60 && !minutes_[next_minute]) ++next_minute;
    if (next_minute == 60) {
      t = day + hours{next_hour + 1};
      continue;
    }
    const date::local_seconds candidate = day + hours{next_hour} + minutes{next_minute};
    t = candidate + minutes{1};  // where to go on if this candidate does not fire

    sys_seconds fire;
    if (!zone) {
      fire = sys_seconds{candidate.time_since_epoch()};
    } else {
      const date::local_info info = zone->get_info(candidate);
      if (info.result == date::local_info::nonexistent) continue;
      // unique: `first` is the only period; ambiguous: `first` is the earlier occurrence.
      fire = sys_seconds{candidate.time_since_epoch()} - info.first.offset;
    }
    if (fire > after) return duration_cast<milliseconds>(fire.time_since_epoch()).count();
    // An ambiguous time whose first occurrence is already past has fired: never twice.
  }
  return -1;
}

}  // namespace reach::dsl
