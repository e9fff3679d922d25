#include "dsl/expr_functions.h"

#include <array>
#include <charconv>
#include <cmath>

#include <boost/json.hpp>

#include "common/time_util.h"
#include "dsl/expr_ops.h"

namespace reach::dsl::expr {

namespace {

using T = ExprType;
using K = Value::Kind;
using Mask = uint16_t;

constexpr Mask Bit(T t) { return static_cast<Mask>(1u << static_cast<unsigned>(t)); }
constexpr Mask kEverything = 0xFFFF;
constexpr Mask kS = Bit(T::kString);

struct Entry {
  FunctionInfo info;
  std::array<Mask, kMaxArity> accepts;  // per argument, receiver first
};

// clang-format off
constexpr Entry kFunctions[] = {
    {{"has_tag",      FunctionId::kHasTag,      1, false, false, T::kBool},      {kS, 0}},
    {{"size",         FunctionId::kSize,        1, true,  true,  T::kNumber},    {kS | Bit(T::kList) | Bit(T::kMap), 0}},
    {{"contains",     FunctionId::kContains,    2, true,  true,  T::kBool},      {kS | Bit(T::kList) | Bit(T::kMap), kEverything}},
    {{"startsWith",   FunctionId::kStartsWith,  2, true,  true,  T::kBool},      {kS, kS}},
    {{"endsWith",     FunctionId::kEndsWith,    2, true,  true,  T::kBool},      {kS, kS}},
    {{"matches",      FunctionId::kMatches,     2, true,  true,  T::kBool},      {kS, kS}},
    {{"now",          FunctionId::kNow,         0, false, false, T::kTimestamp}, {0, 0}},
    {{"duration",     FunctionId::kDuration,    1, false, true,  T::kDuration},  {kS | Bit(T::kDuration), 0}},
    {{"timestamp",    FunctionId::kTimestamp,   1, false, true,  T::kTimestamp}, {kS | Bit(T::kTimestamp), 0}},
    {{"count_events", FunctionId::kCountEvents, 2, false, false, T::kNumber},    {kS, kS | Bit(T::kDuration)}},
    {{"string",       FunctionId::kString,      1, false, true,  T::kString},    {kEverything, 0}},
    {{"int",          FunctionId::kInt,         1, false, true,  T::kNumber},
     {Bit(T::kNumber) | kS | Bit(T::kTimestamp) | Bit(T::kDuration), 0}},
    {{"double",       FunctionId::kDouble,      1, false, true,  T::kNumber},    {Bit(T::kNumber) | kS, 0}},
};
// clang-format on

const Entry& EntryOf(const FunctionInfo& fn) {
  for (const Entry& e : kFunctions) {
    if (e.info.id == fn.id) return e;
  }
  return kFunctions[0];
}

// contains(string or map, x) needs a string x; contains(list, x) takes anything.
Mask Accepted(const FunctionInfo& fn, size_t index, T receiver) {
  if (fn.id == FunctionId::kContains && index == 1 && (receiver == T::kString || receiver == T::kMap)) return kS;
  return EntryOf(fn).accepts[index];
}

// "a string", "a string, list or map".
std::string DescribeMask(Mask mask) {
  static constexpr T kOrder[] = {T::kNull, T::kBool, T::kNumber, T::kString, T::kList, T::kMap, T::kTimestamp, T::kDuration};
  std::vector<std::string_view> names;
  for (T t : kOrder) {
    if (mask & Bit(t)) names.push_back(ExprTypeName(t));
  }
  std::string out = "a ";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += (i + 1 == names.size()) ? " or " : ", ";
    out += names[i];
  }
  return out;
}

std::string ArgumentMessage(const FunctionInfo& fn, bool as_method, size_t index, Mask accepted,
                            std::string_view got) {
  std::string where = (as_method && index == 0) ? "its receiver"
                                                 : "argument " + std::to_string(as_method ? index : index + 1);
  return std::string(fn.name) + " expects " + DescribeMask(accepted) + " as " + where + ", got " + std::string(got);
}

// Boost reports an inverted range ("[z-a]") and an unknown class name ("[[:foo:]]", "\p{foo}")
// with the same code; `pattern` tells them apart.
std::string RegexMessage(boost::regex_constants::error_type code, std::string_view pattern) {
  namespace rc = boost::regex_constants;
  std::string reason;
  switch (code) {
    case rc::error_collate: reason = "invalid collating element"; break;
    case rc::error_ctype: {
      bool names_a_class = pattern.find("[:") != std::string_view::npos ||
                           pattern.find("\\p") != std::string_view::npos || pattern.find("\\P") != std::string_view::npos;
      reason = names_a_class ? "invalid character class" : "invalid character range";
      break;
    }
    case rc::error_escape: reason = "invalid escape"; break;
    case rc::error_backref: reason = "invalid back reference"; break;
    case rc::error_brack: reason = "unbalanced '['"; break;
    case rc::error_paren:
    case rc::error_perl_extension: reason = "unbalanced '(' or unsupported group syntax"; break;
    case rc::error_right_paren: reason = "unbalanced ')'"; break;
    case rc::error_brace: reason = "unbalanced '{'"; break;
    case rc::error_badbrace: reason = "invalid repetition count in '{}'"; break;
    case rc::error_range: reason = "invalid character range"; break;
    case rc::error_space: reason = "out of memory"; break;
    case rc::error_badrepeat: reason = "nothing to repeat"; break;
    case rc::error_size: reason = "the pattern is too large"; break;
    case rc::error_complexity:
    case rc::error_stack: reason = "the pattern is too complex"; break;
    default: reason = "malformed pattern"; break;
  }
  return "invalid regular expression: " + reason;
}

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

bool HasTag(const Scope& scope, std::string_view name) {
  const boost::json::value* user = scope.User();
  if (!user || !user->is_object()) return false;
  const boost::json::value* tags = user->get_object().if_contains("tags");
  if (!tags || !tags->is_array()) return false;
  for (const boost::json::value& tag : tags->get_array()) {
    if (tag.is_string() && tag.get_string() == name) return true;
  }
  return false;
}

Value InvalidDuration(std::string_view text) {
  return Value::Error("invalid duration \"" + std::string(text) + "\" (use e.g. 90s, 15m, 2h, 3d, 1h30m)");
}

Value ToDuration(const Value& v) {
  if (v.kind() == K::kDuration) return v;
  std::optional<int64_t> ms = ParseDurationMillis(v.as_string());
  return ms ? Value::Duration(*ms) : InvalidDuration(v.as_string());
}

Value ToTimestamp(const Value& v) {
  if (v.kind() == K::kTimestamp) return v;
  std::optional<int64_t> ms = ParseTimestampMillis(v.as_string());
  if (ms) return Value::Timestamp(*ms);
  return Value::Error("invalid timestamp \"" + std::string(v.as_string()) +
                      "\" (use RFC 3339, e.g. 2026-01-01T09:00:00Z)");
}

Value ToInt(const Value& v) {
  switch (v.kind()) {
    case K::kNumber: {
      double d = std::trunc(v.as_number());
      if (!std::isfinite(d) || d >= 9223372036854775808.0 || d < -9223372036854775808.0) {
        return Value::Error("int: " + v.ToString() + " is out of range");
      }
      return Value::Int(static_cast<int64_t>(d));
    }
    case K::kTimestamp:
    case K::kDuration: return Value::Int(v.as_millis());
    default: {
      std::string_view s = v.as_string();
      int64_t out = 0;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
      if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
        return Value::Error("cannot convert \"" + std::string(s) + "\" to int");
      }
      return Value::Int(out);
    }
  }
}

Value ToDouble(const Value& v) {
  if (v.kind() == K::kNumber) return v;
  std::string_view s = v.as_string();
  double out = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty() || !std::isfinite(out)) {
    return Value::Error("cannot convert \"" + std::string(s) + "\" to double");
  }
  return Value::Number(out);
}

Value Matches(std::string_view subject, const Value& pattern_value, const boost::regex* pattern) {
  if (subject.size() > kMaxMatchSubjectBytes) {
    return Value::Error("matches: the string is " + std::to_string(subject.size()) + " bytes long, the limit is " +
                        std::to_string(kMaxMatchSubjectBytes) + " (use contains() on longer text)");
  }
  std::shared_ptr<const boost::regex> compiled;
  if (!pattern) {  // a pattern computed at run time: compiled on every call
    std::string message;
    compiled = CompileRegex(pattern_value.as_string(), message);
    if (!compiled) return Value::Error(std::move(message));
    pattern = compiled.get();
  }
  try {
    return Value::Bool(boost::regex_search(subject.begin(), subject.end(), *pattern));
  } catch (const boost::regex_error&) {
    // error_complexity (too many states visited: catastrophic backtracking) or error_stack
    // (the backtracking memory limit reached) — the only errors a match can raise.
    return Value::Error("regex too complex for this input");
  } catch (const std::exception&) {  // std::bad_alloc
    return Value::Error("regex too complex for this input");
  }
}

}  // namespace

const FunctionInfo* FindFunction(std::string_view name) {
  for (const Entry& e : kFunctions) {
    if (e.info.name == name) return &e.info;
  }
  return nullptr;
}

std::vector<std::string_view> FunctionNames() {
  std::vector<std::string_view> names;
  for (const Entry& e : kFunctions) names.push_back(e.info.name);
  return names;
}

std::string CheckArgument(const FunctionInfo& fn, bool as_method, size_t index, ExprType type,
                          const std::vector<ExprType>& prior) {
  if (type == T::kAny) return {};
  Mask accepted = Accepted(fn, index, prior.empty() ? T::kAny : prior[0]);
  if (accepted & Bit(type)) return {};
  return ArgumentMessage(fn, as_method, index, accepted, ExprTypeName(type));
}

std::shared_ptr<const boost::regex> CompileRegex(std::string_view pattern, std::string& message) {
  // Catch a quantifier with nothing before it ("*.png", "a|*b") first so that the message
  // names the quantifier.
  for (size_t i = 0; i < pattern.size(); ++i) {
    bool starts_alternative = i == 0 || (pattern[i - 1] == '|' && (i < 2 || pattern[i - 2] != '\\'));
    if (starts_alternative && (pattern[i] == '*' || pattern[i] == '+' || pattern[i] == '?')) {
      message = "invalid regular expression: nothing to repeat before '" + std::string(1, pattern[i]) + "'";
      return nullptr;
    }
  }
  // Perl syntax, but '^' and '$' match only at the ends of the subject and '.' matches no
  // line terminator, as in ECMAScript (and as with the std::regex used before).
  constexpr boost::regex::flag_type kFlags = boost::regex::ECMAScript | boost::regex::no_mod_m | boost::regex::no_mod_s;
  try {
    return std::make_shared<const boost::regex>(pattern.begin(), pattern.end(), kFlags);
  } catch (const boost::regex_error& e) {
    message = RegexMessage(e.code(), pattern);
  } catch (const std::exception&) {
    message = RegexMessage(boost::regex_constants::error_space, pattern);
  }
  return nullptr;
}

Value CallFunction(const FunctionInfo& fn, bool as_method, const Value* const* args, const Scope& scope,
                   const boost::regex* pattern) {
  // Dynamic arguments are checked here with the same rules the checker applies to known types.
  for (size_t i = 0; i < fn.arity; ++i) {
    Mask accepted = Accepted(fn, i, TypeOfKind(args[0]->kind()));
    if (!(accepted & Bit(TypeOfKind(args[i]->kind())))) {
      return Value::Error(ArgumentMessage(fn, as_method, i, accepted, KindName(args[i]->kind())));
    }
  }
  switch (fn.id) {
    case FunctionId::kHasTag: return Value::Bool(HasTag(scope, args[0]->as_string()));
    case FunctionId::kSize:
      if (args[0]->kind() == K::kString) return Value::Int(static_cast<int64_t>(CodePoints(args[0]->as_string())));
      return Value::Int(static_cast<int64_t>(args[0]->size()));
    case FunctionId::kContains: return EvalIn(*args[1], *args[0]);
    case FunctionId::kStartsWith: return Value::Bool(args[0]->as_string().starts_with(args[1]->as_string()));
    case FunctionId::kEndsWith: return Value::Bool(args[0]->as_string().ends_with(args[1]->as_string()));
    case FunctionId::kMatches: return Matches(args[0]->as_string(), *args[1], pattern);
    case FunctionId::kNow: return Value::Timestamp(scope.host ? scope.host->NowMillis() : 0);
    case FunctionId::kDuration: return ToDuration(*args[0]);
    case FunctionId::kTimestamp: return ToTimestamp(*args[0]);
    case FunctionId::kCountEvents: {
      Value window = ToDuration(*args[1]);
      if (window.is_error()) return window;
      if (window.as_millis() < 0) return Value::Error("count_events: the window must not be negative");
      if (!scope.host) return Value::Int(0);
      return Value::Int(scope.host->CountEvents(args[0]->as_string(), window.as_millis()));
    }
    case FunctionId::kString:
      if (args[0]->kind() == K::kString) return *args[0];
      return Value::OwnString(args[0]->ToString());
    case FunctionId::kInt: return ToInt(*args[0]);
    case FunctionId::kDouble: return ToDouble(*args[0]);
  }
  return Value::Error("unknown function");
}

}  // namespace reach::dsl::expr
