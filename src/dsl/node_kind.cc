#include "dsl/node_kind.h"

#include <boost/json.hpp>

#include "common/time_util.h"
#include "dsl/time_zone.h"

namespace reach::dsl {

std::string_view NodeRoleName(NodeRole role) {
  switch (role) {
    case NodeRole::kCommon: return "common";
    case NodeRole::kBoolean: return "boolean";
    case NodeRole::kSwitch: return "switch";
    case NodeRole::kFor: return "for";
    case NodeRole::kIterator: return "iterator";
    case NodeRole::kAny: return "expression";
  }
  return "?";
}

namespace {
const char* const kCommonFields[] = {"id", "type", "name", "retry", "timeout"};
}

FieldReader::FieldReader(const YamlNode& decl, std::string_view type, const SourceSet& sources,
                         Diagnostics& diags)
    : decl_(decl), type_(type), sources_(sources), diags_(diags) {
  for (const char* f : kCommonFields) read_.insert(f);
}

const YamlNode* FieldReader::Get(std::string_view key) {
  read_.insert(std::string(key));
  const YamlNode* n = decl_.Find(key);
  return n;
}

bool FieldReader::Has(std::string_view key) const { return decl_.Find(key) != nullptr; }

const YamlNode* FieldReader::Require(std::string_view key) {
  const YamlNode* n = Get(key);
  if (!n) {
    failed_ = true;
    diags_.Error(decl_.where, "node kind '" + type_ + "' needs field '" + std::string(key) + "'");
  }
  return n;
}

void FieldReader::ErrorAt(std::string_view key, std::string message) {
  const YamlNode* n = decl_.Find(key);
  ErrorAt(n ? *n : decl_, std::move(message));
}

void FieldReader::ErrorAt(const YamlNode& node, std::string message) {
  failed_ = true;
  diags_.Error(node.where, std::move(message));
}

void FieldReader::ErrorAt(Location where, std::string message) {
  failed_ = true;
  diags_.Error(where, std::move(message));
}

namespace {
std::string FieldName(std::string_view key) { return "field '" + std::string(key) + "'"; }
}  // namespace

std::optional<std::string> FieldReader::String(std::string_view key, bool required) {
  const YamlNode* n = required ? Require(key) : Get(key);
  if (!n) return std::nullopt;
  if (!n->is_scalar()) {
    ErrorAt(*n, FieldName(key) + " must be a string, not " + std::string(n->Describe()));
    return std::nullopt;
  }
  return n->scalar;
}

std::optional<int64_t> FieldReader::Integer(std::string_view key, bool required, int64_t min, int64_t max) {
  const YamlNode* n = required ? Require(key) : Get(key);
  if (!n) return std::nullopt;
  boost::json::value v = n->ToJson();
  if (!v.is_int64()) {
    ErrorAt(*n, FieldName(key) + " must be an integer, not " + std::string(n->Describe()));
    return std::nullopt;
  }
  int64_t i = v.as_int64();
  if (i < min || i > max) {
    ErrorAt(*n, FieldName(key) + " must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return i;
}

std::optional<bool> FieldReader::Boolean(std::string_view key, bool required) {
  const YamlNode* n = required ? Require(key) : Get(key);
  if (!n) return std::nullopt;
  if (!n->IsPlainBool()) {
    ErrorAt(*n, FieldName(key) + " must be true or false");
    return std::nullopt;
  }
  return n->scalar[0] == 't' || n->scalar[0] == 'T';
}

std::optional<int64_t> FieldReader::DurationMillis(std::string_view key, bool required) {
  const YamlNode* n = required ? Require(key) : Get(key);
  if (!n) return std::nullopt;
  if (n->is_scalar()) {
    if (n->IsPlainNumber()) {
      boost::json::value v = n->ToJson();
      // Seconds; capped so that the milliseconds fit (about 292 million years).
      if (v.is_int64() && v.as_int64() > 0 && v.as_int64() < INT64_MAX / 1000) return v.as_int64() * 1000;
    } else if (auto ms = ParseDurationMillis(n->scalar); ms && *ms > 0) {
      return ms;
    }
  }
  ErrorAt(*n, "bad duration '" + (n->is_scalar() ? n->scalar : std::string(n->Describe())) +
                  "' in " + FieldName(key) + ": expected a number and a unit (ms, s, m, h, d, w), e.g. 90s, 15m, 3d");
  return std::nullopt;
}

std::optional<std::vector<std::string>> FieldReader::StringList(std::string_view key, bool required) {
  const YamlNode* n = required ? Require(key) : Get(key);
  if (!n) return std::nullopt;
  std::vector<std::string> out;
  if (n->is_scalar()) {
    out.push_back(n->scalar);
    return out;
  }
  if (!n->is_sequence()) {
    ErrorAt(*n, FieldName(key) + " must be a list of strings, not " + std::string(n->Describe()));
    return std::nullopt;
  }
  for (const YamlNode& item : n->items) {
    if (!item.is_scalar()) {
      ErrorAt(item, FieldName(key) + " must hold strings, not " + std::string(item.Describe()));
      return std::nullopt;
    }
    out.push_back(item.scalar);
  }
  return out;
}

std::optional<std::string> FieldReader::TimeZone(std::string_view key, bool required) {
  auto s = String(key, required);
  if (!s) return std::nullopt;
  if (!IsKnownTimeZone(*s)) {
    ErrorAt(key, "unknown time zone '" + *s + "' (use an IANA name such as Asia/Shanghai)");
    return std::nullopt;
  }
  return s;
}

std::shared_ptr<const Expression> FieldReader::Expr(std::string_view key, ExprType want, bool required) {
  const YamlNode* n = required ? Require(key) : Get(key);
  if (!n) return nullptr;
  return ExprAt(*n, want, FieldName(key));
}

std::shared_ptr<const Expression> FieldReader::ExprAt(const YamlNode& node, ExprType want,
                                                      std::string_view what) {
  std::string source;
  if (node.is_scalar()) source = node.scalar;
  else {
    ErrorAt(node, std::string(what) + " must be an expression (a string), not " + std::string(node.Describe()));
    return nullptr;
  }
  std::vector<ExprError> errors;
  auto expr = Expression::Compile(source, errors);
  if (!expr) {
    for (const ExprError& e : errors) {
      failed_ = true;
      diags_.Error(node.LocationOf(e.offset, sources_), e.message);
    }
    return nullptr;
  }
  if (want != ExprType::kAny && expr->type() != ExprType::kAny && expr->type() != want) {
    ErrorAt(node, std::string(what) + " must be a " + std::string(ExprTypeName(want)) +
                      " expression, but this one is a " + std::string(ExprTypeName(expr->type())));
    return nullptr;
  }
  return expr;
}

std::optional<std::string> FieldReader::Template(std::string_view key, bool required) {
  auto s = String(key, required);
  if (!s) return std::nullopt;
  // Balanced {{ }} pairs; kainjow checks the rest at render time, but an unclosed tag is the
  // typo operators make, and it is better caught at deploy time.
  size_t pos = 0;
  while ((pos = s->find("{{", pos)) != std::string::npos) {
    size_t close = s->find("}}", pos + 2);
    size_t next_open = s->find("{{", pos + 2);
    if (close == std::string::npos || (next_open != std::string::npos && next_open < close)) {
      const YamlNode* n = decl_.Find(key);
      failed_ = true;
      diags_.Error(n->LocationOf(pos, sources_), "unclosed template tag '{{' in " + FieldName(key));
      return std::nullopt;
    }
    pos = close + 2;
  }
  return s;
}

std::optional<boost::json::value> FieldReader::Json(std::string_view key, bool required) {
  const YamlNode* n = required ? Require(key) : Get(key);
  if (!n) return std::nullopt;
  return n->ToJson();
}

void FieldReader::Finish() {
  std::vector<std::string> known(read_.begin(), read_.end());
  for (size_t i = 0; i < decl_.entries.size(); ++i) {
    const std::string& k = decl_.entries[i].first;
    if (read_.count(k)) continue;
    std::string msg = "unknown field '" + k + "' for node kind '" + type_ + "'";
    std::string hint = ClosestMatch(k, known);
    if (!hint.empty()) msg += " (did you mean '" + hint + "'?)";
    failed_ = true;
    diags_.Error(decl_.key_locations[i], std::move(msg));
  }
}

void NodeKindRegistry::Register(std::unique_ptr<NodeKindSpec> spec) {
  std::string name(spec->type());
  specs_[name] = std::move(spec);
}

const NodeKindSpec* NodeKindRegistry::Find(std::string_view type) const {
  auto it = specs_.find(type);
  return it == specs_.end() ? nullptr : it->second.get();
}

std::vector<std::string> NodeKindRegistry::types() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : specs_) out.push_back(k);
  return out;
}

}  // namespace reach::dsl
