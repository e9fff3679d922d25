#pragma once
// The built-in functions of the expression language: their names, arities, accepted argument
// types (checked at Compile time for statically-known types) and run-time behaviour.
// A method call `x.f(y)` is f(x, y); only functions marked `method` may be called that way.

#include <cstdint>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/expression.h"
#include "dsl/value.h"

namespace reach::dsl::expr {

enum class FunctionId : uint8_t {
  kHasTag,
  kSize,
  kContains,
  kStartsWith,
  kEndsWith,
  kMatches,
  kNow,
  kDuration,
  kTimestamp,
  kCountEvents,
  kString,
  kInt,
  kDouble,
};

// The most arguments any function takes, the receiver of a method call included.
inline constexpr size_t kMaxArity = 2;

// matches() refuses longer subjects (an error value). libstdc++'s std::regex recurses once
// per subject character, with 0.5-2 KB of stack each depending on the pattern's groups, so a
// long string from event data could overflow an engine thread's stack and crash the daemon;
// 1000 bytes stays well inside 1 MB for the patterns operators write.
inline constexpr size_t kMaxMatchSubjectBytes = 1000;

struct FunctionInfo {
  std::string_view name;
  FunctionId id;
  uint8_t arity;      // the receiver of a method call counts as the first argument
  bool method;        // may be called as receiver.name(...)
  bool pure;          // the result depends on the arguments only, so literal calls fold
  ExprType result;
};

// The function called `name`, or null.
const FunctionInfo* FindFunction(std::string_view name);
// Every function name, for "did you mean" suggestions.
std::vector<std::string_view> FunctionNames();

// The message for argument `index` (0-based, receiver included) of `fn` having a statically
// known `type` it does not accept, or "" when it is accepted. `prior` holds the static types of
// the arguments before it (contains("abc", x) needs x to be a string; contains([..], x) does not).
std::string CheckArgument(const FunctionInfo& fn, bool as_method, size_t index, ExprType type,
                          const std::vector<ExprType>& prior);

// Compiles a pattern for matches(). On failure returns null and sets `message` to a reason a
// person can act on ("invalid regular expression: unbalanced '('").
std::shared_ptr<const std::regex> CompileRegex(std::string_view pattern, std::string& message);

// Calls `fn` on `args` (fn.arity of them, none an error; `as_method` only words messages).
// `pattern` is the regex compiled at Compile time for a literal matches() pattern, or null.
// Never throws: a dynamic argument of the wrong type, a bad conversion or a bad run-time
// pattern yields Value::Error.
Value CallFunction(const FunctionInfo& fn, bool as_method, const Value* const* args, const Scope& scope,
                   const std::regex* pattern);

}  // namespace reach::dsl::expr
