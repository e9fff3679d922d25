#pragma once
// The built-in functions of the expression language: their names, arities, accepted argument
// types (checked at Compile time for statically-known types) and run-time behaviour.
// A method call `x.f(y)` is f(x, y); only functions marked `method` may be called that way.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/regex.hpp>

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

// matches() uses Boost.Regex (perl syntax with ECMAScript semantics for '^', '$' and '.'),
// not std::regex: libstdc++'s std::regex recurses once per subject character (a long string
// from event data overflowed an engine thread's stack, so subjects were capped at 1000 bytes)
// and has no guard against catastrophic backtracking (`(a*)*b` on a run of 'a' never ended).
// Boost's matcher is non-recursive (its backtracking state lives in at most ~4 MB of heap) and
// gives up once it has visited more states than a bound that grows with the subject length and
// the pattern size; both failures become the error value "regex too complex for this input".
// That bound is max(N^2 capped at 1e8, N*S^2) for N subject bytes and S pattern states, so
// giving up can still take ~0.6 s for a small pattern on a subject over ~10 KB. Subjects longer
// than this are refused (an error value) to keep it there; a pattern repeating a group
// (`^(\w+\s?)+$`) may exhaust Boost's backtracking memory on subjects of ~32 KiB and up and
// then fails the same way. Most patterns (`^a+b$`, `\w+@\w+`) run in linear time at this size.
inline constexpr size_t kMaxMatchSubjectBytes = 64 * 1024;

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
std::shared_ptr<const boost::regex> CompileRegex(std::string_view pattern, std::string& message);

// Calls `fn` on `args` (fn.arity of them, none an error; `as_method` only words messages).
// `pattern` is the regex compiled at Compile time for a literal matches() pattern, or null.
// Never throws: a dynamic argument of the wrong type, a bad conversion or a bad run-time
// pattern yields Value::Error.
Value CallFunction(const FunctionInfo& fn, bool as_method, const Value* const* args, const Scope& scope,
                   const boost::regex* pattern);

}  // namespace reach::dsl::expr
