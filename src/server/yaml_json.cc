#include "server/yaml_json.h"

#include <array>
#include <charconv>
#include <cmath>

#include <boost/json/serialize.hpp>

namespace reach::server {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool IsInteger(std::string_view s) {
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) s.remove_prefix(1);
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// [-+]? ( \.[0-9]+ | [0-9]+ ( \.[0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
bool IsDecimal(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t exponent = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++exponent;
    if (exponent == 0) return false;
  }
  return i == s.size();
}

boost::json::value ScalarToJson(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  const std::string& tag = node.Tag();
  // "!" is yaml-cpp's tag for a quoted scalar: the author said "string".
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return boost::json::string(text);
  const std::string lower = Lower(text);
  if (text.empty() || text == "~" || lower == "null") return nullptr;
  if (lower == "true") return true;
  if (lower == "false") return false;
  if (IsInteger(text)) {
    int64_t value = 0;
    std::string_view digits = text;
    if (digits.front() == '+') digits.remove_prefix(1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec == std::errc() && end == digits.data() + digits.size()) return value;
    // Too large for int64: fall through to a double, like most JSON readers.
  }
  if (IsDecimal(text)) {
    double value = 0;
    std::string_view digits = text;
    if (digits.front() == '+') digits.remove_prefix(1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec == std::errc() && end == digits.data() + digits.size() && std::isfinite(value))
      return value;
  }
  return boost::json::string(text);
}

void AppendIndent(std::string& out, int depth) { out.append(static_cast<size_t>(depth) * 2, ' '); }

void AppendPretty(std::string& out, const boost::json::value& value, int depth) {
  if (value.is_object()) {
    const auto& object = value.get_object();
    if (object.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    bool first = true;
    for (const auto& member : object) {
      if (!first) out += ",\n";
      first = false;
      AppendIndent(out, depth + 1);
      out += boost::json::serialize(boost::json::string(member.key()));
      out += ": ";
      AppendPretty(out, member.value(), depth + 1);
    }
    out += '\n';
    AppendIndent(out, depth);
    out += '}';
  } else if (value.is_array()) {
    const auto& array = value.get_array();
    if (array.empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    for (size_t i = 0; i < array.size(); ++i) {
      if (i > 0) out += ",\n";
      AppendIndent(out, depth + 1);
      AppendPretty(out, array[i], depth + 1);
    }
    out += '\n';
    AppendIndent(out, depth);
    out += ']';
  } else {
    out += boost::json::serialize(value);
  }
}

}  // namespace

boost::json::value YamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      boost::json::object object;
      for (const auto& entry : node) {
        const YAML::Node key = entry.first;
        object[key.IsScalar() ? key.Scalar() : std::string()] = YamlToJson(entry.second);
      }
      return object;
    }
    case YAML::NodeType::Sequence: {
      boost::json::array array;
      for (const auto& item : node) array.push_back(YamlToJson(item));
      return array;
    }
    case YAML::NodeType::Scalar:
      return ScalarToJson(node);
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      break;
  }
  return nullptr;
}

bool IsSecretName(std::string_view name) {
  static constexpr std::array<std::string_view, 7> kMarkers = {
      "secret", "token", "password", "passwd", "key", "credential", "private"};
  const std::string lower = Lower(name);
  for (std::string_view marker : kMarkers)
    if (lower.find(marker) != std::string::npos) return true;
  return false;
}

boost::json::value RedactSecrets(const boost::json::value& value) {
  if (value.is_object()) {
    boost::json::object out;
    for (const auto& member : value.get_object()) {
      if (IsSecretName(member.key()) && !member.value().is_null())
        out[member.key()] = "***";
      else
        out[member.key()] = RedactSecrets(member.value());
    }
    return out;
  }
  if (value.is_array()) {
    boost::json::array out;
    for (const auto& item : value.get_array()) out.push_back(RedactSecrets(item));
    return out;
  }
  return value;
}

std::string PrettyJson(const boost::json::value& value) {
  std::string out;
  AppendPretty(out, value, 0);
  return out;
}

}  // namespace reach::server
