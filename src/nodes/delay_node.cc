#include "nodes/delay_node.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <exception>
#include <optional>
#include <vector>

#include <boost/json/value.hpp>
#include <date/tz.h>

#include "common/time_util.h"
#include "nodes/field_checks.h"
#include "nodes/runtime_support.h"

namespace reach::nodes {
namespace {

constexpr std::array<std::string_view, 7> kDayNames = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

// `offset:`: a duration with an optional sign ("-2h", "+30m", "1d"), or a plain integer number
// of seconds (which may be negative), as FieldReader::DurationMillis reads unsigned ones.
std::optional<int64_t> ReadOffset(dsl::FieldReader& fields) {
  const dsl::YamlNode* node = fields.Get("offset");
  if (!node) return 0;
  if (node->is_scalar()) {
    std::string_view text = node->scalar;
    if (node->IsPlainNumber()) {
      boost::json::value v = node->ToJson();
      if (v.is_int64() && v.as_int64() > -(INT64_MAX / 1000) && v.as_int64() < INT64_MAX / 1000)
        return v.as_int64() * 1000;
    } else {
      int64_t sign = 1;
      if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
        sign = text[0] == '-' ? -1 : 1;
        text.remove_prefix(1);
      }
      if (auto millis = ParseDurationMillis(text)) return sign * *millis;
    }
  }
  fields.ErrorAt(*node, "bad offset '" + (node->is_scalar() ? node->scalar : std::string(node->Describe())) +
                            "' in field 'offset': expected a duration with an optional sign, e.g. -2h, 30m, +1d");
  return std::nullopt;
}

std::optional<int> ReadTimeOfDay(dsl::FieldReader& fields, const dsl::YamlNode& window, std::string_view key) {
  const std::string path = "window." + std::string(key);
  const dsl::YamlNode* node = RequireSub(fields, window, "window", key);
  if (!node) return std::nullopt;
  std::optional<int> minutes = node->is_scalar() ? ParseTimeOfDay(node->scalar) : std::nullopt;
  if (!minutes)
    fields.ErrorAt(*node, "field '" + path + "' must be a time of day as HH:MM (00:00 to 23:59), not " +
                              (node->is_scalar() ? "'" + node->scalar + "'" : std::string(node->Describe())));
  return minutes;
}

std::optional<std::bitset<7>> ReadDays(dsl::FieldReader& fields, const dsl::YamlNode& window) {
  std::bitset<7> days;
  const dsl::YamlNode* node = window.Find("days");
  if (!node) return days.set();
  std::vector<const dsl::YamlNode*> items;
  if (node->is_scalar()) items.push_back(node);
  else if (node->is_sequence()) for (const dsl::YamlNode& item : node->items) items.push_back(&item);
  else {
    fields.ErrorAt(*node, "field 'window.days' must be a list of day names (mon, tue, ...), not " +
                              std::string(node->Describe()));
    return std::nullopt;
  }
  bool ok = true;
  for (const dsl::YamlNode* item : items) {
    std::string name = item->is_scalar() ? item->scalar : "";
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool found = false;
    for (size_t d = 0; d < kDayNames.size(); ++d) {
      if (name != kDayNames[d]) continue;
      days.set(d);
      found = true;
    }
    if (!found) {
      fields.ErrorAt(*item, "unknown day '" + (item->is_scalar() ? item->scalar : std::string(item->Describe())) +
                                "' in field 'window.days' (use mon, tue, wed, thu, fri, sat, sun)");
      ok = false;
    }
  }
  if (ok && days.none()) {
    fields.ErrorAt(*node, "field 'window.days' must name at least one day");
    ok = false;
  }
  if (!ok) return std::nullopt;
  return days;
}

void ReadWindow(dsl::FieldReader& fields, DelayConfig& config) {
  const dsl::YamlNode* window = ReadMap(fields, "window");
  if (!window) return;
  CheckKeys(fields, *window, "window", {"from", "to", "days"});
  auto from = ReadTimeOfDay(fields, *window, "from");
  auto to = ReadTimeOfDay(fields, *window, "to");
  auto days = ReadDays(fields, *window);
  if (from && to && *from == *to)
    fields.ErrorAt(*window, "field 'window' opens and closes at the same time (" + window->Find("from")->scalar +
                                "): give 'from' and 'to' different times");
  if (from && to && days) config.window = {*from, *to, *days};
}

// ---- run time ----

// Frame keys: the timer's id and the due time (Unix ms).
constexpr std::string_view kTimer = "t";
constexpr std::string_view kDue = "d";

int64_t GetInt(const boost::json::object& frame, std::string_view key) {
  const boost::json::value* v = frame.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : -1;
}

template <class Duration>
int64_t ToMillis(date::sys_time<Duration> t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// The zone named `name`, or null when the name is empty or unknown to the database.
const date::time_zone* FindZone(const std::string& name) {
  if (name.empty()) return nullptr;
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return nullptr;  // locate_zone throws for unknown names
  }
}

// The first known zone of `first`, `second`, else UTC (null only without a zone database).
const date::time_zone* ZoneOf(const std::string& first, const std::string& second, const std::string& third = "") {
  if (const date::time_zone* z = FindZone(first)) return z;
  if (const date::time_zone* z = FindZone(second)) return z;
  if (const date::time_zone* z = FindZone(third)) return z;
  return FindZone("UTC");
}

// Local wall time (as Unix ms of the same wall clock reading in UTC) -> the instant. A wall time
// skipped by a DST jump maps to the end of the gap; a repeated one to its first occurrence.
int64_t LocalToUtc(const date::time_zone* zone, int64_t wall_millis) {
  date::local_time<std::chrono::milliseconds> local{std::chrono::milliseconds(wall_millis)};
  return ToMillis(zone->to_sys(local, date::choose::earliest));
}

// `until:`'s value as an instant: a timestamp, or a string in RFC 3339. A string without a zone
// ("2026-11-22T10:00:00", or a bare date meaning local midnight) is local time in `zone`.
std::optional<int64_t> UntilInstant(const dsl::Value& v, const date::time_zone* zone) {
  if (v.kind() == dsl::Value::Kind::kTimestamp) return v.as_millis();
  if (v.kind() != dsl::Value::Kind::kString) return std::nullopt;
  std::string text(v.as_string());
  if (text.size() == 10) {  // a bare date; ParseTimestampMillis reads it as midnight UTC
    if (auto wall = ParseTimestampMillis(text)) return LocalToUtc(zone, *wall);
    return std::nullopt;
  }
  // Appending "Z" parses only when the text had no zone of its own.
  if (auto wall = ParseTimestampMillis(text + "Z")) return LocalToUtc(zone, *wall);
  return ParseTimestampMillis(text);
}

// The first instant at or after `now` inside `window` on the local clock of `zone`: `now`
// itself when the window is open. The window opening on day D runs [D from, D to) or, when it
// spans midnight, [D from, D+1 to); `days` names D. Yesterday's opening is looked at too (a
// window spanning midnight may still be open), and a week plus a day ahead always holds an
// opening since at least one day is allowed.
int64_t NextInWindow(const DelayConfig::Window& window, const date::time_zone* zone, int64_t now) {
  using std::chrono::milliseconds;
  using std::chrono::minutes;
  const date::sys_time<milliseconds> now_point{milliseconds(now)};
  const date::local_days today = date::floor<date::days>(zone->to_local(now_point));
  const bool spans_midnight = window.to_minute <= window.from_minute;
  int64_t best = INT64_MAX;
  for (int d = -1; d <= 8; ++d) {
    const date::local_days day = today + date::days(d);
    if (!window.days.test(date::weekday(day).c_encoding())) continue;
    const auto open_local = day + minutes(window.from_minute);
    const auto close_local = (spans_midnight ? day + date::days(1) : day) + minutes(window.to_minute);
    const int64_t open = ToMillis(zone->to_sys(open_local, date::choose::earliest));
    const int64_t close = ToMillis(zone->to_sys(close_local, date::choose::earliest));
    if (open <= now && now < close) return now;
    if (open > now) best = std::min(best, open);
  }
  return best;
}

// Only when not even UTC can be found: the system's zoneinfo is missing.
engine::NodeOutcome NoZoneDatabase() {
  return engine::NodeOutcome::Failed("the time-zone database (/usr/share/zoneinfo) cannot be read", "Unsupported");
}

// "09:05" for 545 (minutes after midnight, 0..1439).
std::string Hhmm(int minute) {
  std::string out = "00:00";
  out[0] = static_cast<char>('0' + minute / 600);
  out[1] = static_cast<char>('0' + minute / 60 % 10);
  out[3] = static_cast<char>('0' + minute % 60 / 10);
  out[4] = static_cast<char>('0' + minute % 10);
  return out;
}

}  // namespace

std::optional<int> ParseTimeOfDay(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 2 || text.size() != colon + 3) return std::nullopt;
  for (size_t i = 0; i < text.size(); ++i)
    if (i != colon && !std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
  int hours = 0;
  for (size_t i = 0; i < colon; ++i) hours = hours * 10 + (text[i] - '0');
  int minutes = (text[colon + 1] - '0') * 10 + (text[colon + 2] - '0');
  if (hours > 23 || minutes > 59) return std::nullopt;
  return hours * 60 + minutes;
}

std::shared_ptr<const dsl::NodeConfig> DelayKind::Compile(dsl::FieldReader& fields) const {
  auto config = std::make_shared<DelayConfig>();
  auto mode = ReadExactlyOneOf(fields, {"duration", "until", "window"});
  if (auto tz = fields.TimeZone("tz")) config->tz = *tz;
  if (mode == "duration") {
    config->mode = DelayConfig::Mode::kDuration;
    if (auto millis = fields.DurationMillis("duration")) config->duration_millis = *millis;
    RejectField(fields, "tz", "field 'tz' does not apply to a 'duration' delay (only to 'until' and 'window')");
  } else if (mode == "until") {
    config->mode = DelayConfig::Mode::kUntil;
    config->until = fields.Expr("until", dsl::ExprType::kAny);
    if (config->until) {
      dsl::ExprType t = config->until->type();
      if (t != dsl::ExprType::kAny && t != dsl::ExprType::kTimestamp && t != dsl::ExprType::kString)
        fields.ErrorAt("until", "field 'until' must give a timestamp or a string, but this expression is a " +
                                    std::string(dsl::ExprTypeName(t)));
    }
  } else if (mode == "window") {
    config->mode = DelayConfig::Mode::kWindow;
    ReadWindow(fields, *config);
  }
  if (mode == "until") {
    if (auto offset = ReadOffset(fields)) config->offset_millis = *offset;
  } else if (mode) {
    RejectField(fields, "offset", "field 'offset' only applies to an 'until' delay");
  } else {
    fields.Get("offset");  // a known field; the missing or doubled mode is the error to show
  }
  if (fields.failed()) return nullptr;
  return config;
}

engine::NodeOutcome DelayKind::Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const {
  using engine::NodeOutcome;
  const auto& config = static_cast<const DelayConfig&>(*node.config);
  boost::json::object& frame = ctx.frame();
  const int64_t now = ctx.NowMillis();

  if (!frame.empty()) {
    const engine::Wakeup* wakeup = ctx.wakeup();
    if (wakeup && wakeup->kind == engine::Wakeup::Kind::kTimer && wakeup->wait_id == GetInt(frame, kTimer))
      return NodeOutcome::Done();
    // Called again without our timer (a re-run): the due time decides.
    return now >= GetInt(frame, kDue) ? NodeOutcome::Done() : NodeOutcome::Suspended();
  }

  int64_t due = now;
  std::string what;
  switch (config.mode) {
    case DelayConfig::Mode::kDuration:
      due = now + config.duration_millis;
      what = "for " + FormatDuration(config.duration_millis);
      break;
    case DelayConfig::Mode::kUntil: {
      // `tz:` says how the data's times are written, so it comes first here; the user's zone
      // is the fallback for a time without an offset.
      dsl::Value v = config.until->Evaluate(ctx.scope());
      if (v.is_error()) return ExpressionFailed("until", v);
      const date::time_zone* zone = ZoneOf(config.tz, ctx.user().timezone, ctx.flow_time_zone());
      if (!zone) return NoZoneDatabase();
      std::optional<int64_t> at = UntilInstant(v, zone);
      if (!at) return TypeFailed("until", "a timestamp or an RFC 3339 time", v);
      due = *at + config.offset_millis;
      what = "until " + FormatTimestamp(due);
      break;
    }
    case DelayConfig::Mode::kWindow: {
      // A window is about the user's day (no message at 3 am where they are): the user's zone
      // first, then the node's `tz:`, then the flow's `tz:`, then UTC.
      const date::time_zone* zone = ZoneOf(ctx.user().timezone, config.tz, ctx.flow_time_zone());
      if (!zone) return NoZoneDatabase();
      due = NextInWindow(config.window, zone, now);
      what = "for the window " + Hhmm(config.window.from_minute) + "-" + Hhmm(config.window.to_minute) + " " +
             std::string(zone->name()) + ", until " + FormatTimestamp(due);
      break;
    }
  }
  if (due <= now) return NodeOutcome::Done();  // already past, or the window is open now
  frame[kTimer] = ctx.WaitUntil(due);
  frame[kDue] = due;
  if (ctx.noting()) ctx.Note("delay " + what);
  return NodeOutcome::Suspended();
}

}  // namespace reach::nodes
