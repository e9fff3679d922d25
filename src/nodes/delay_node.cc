#include "nodes/delay_node.h"

#include <array>
#include <cctype>
#include <optional>
#include <vector>

#include <boost/json/value.hpp>

#include "common/time_util.h"
#include "nodes/field_checks.h"

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

}  // namespace reach::nodes
