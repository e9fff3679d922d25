#pragma once
// The expression language of node fields (`if:`, `where:`, `match:`, `to:`, `value:`, `until:`,
// entry keys, `set` values): a small, safe, CEL-like language over JSON values.
// The grammar is in docs/dsl.md ("Expressions").
//
// An Expression is parsed and type-checked once (Compile) and evaluated many times (Evaluate).
// Evaluation never throws and never touches I/O except through the EvalHost; a runtime error
// (division by zero, a dynamic value of the wrong type, a bad regex at run time) yields a Value
// of kind kError carrying the message.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>

#include "dsl/value.h"

namespace reach::dsl {

// Static types known at compile time. kAny is a path into JSON data, whose type is only known
// at run time; it is compatible with every other type during checking.
enum class ExprType : uint8_t { kAny, kNull, kBool, kNumber, kString, kList, kMap, kTimestamp, kDuration };
std::string_view ExprTypeName(ExprType type);

// A compile error: `offset` is the byte offset inside the expression source (0-based), so the
// caller can map it back to file:line:col.
struct ExprError {
  size_t offset = 0;
  std::string message;
};

// What evaluation may ask of the world outside the JSON scope. Implemented by the engine
// (store-backed) and by tests (fakes).
class EvalHost {
 public:
  virtual ~EvalHost() = default;
  // The current time, UTC, milliseconds since the Unix epoch.
  virtual int64_t NowMillis() const = 0;
  // How many events of `type` the current user had in the last `window_millis`.
  virtual int64_t CountEvents(std::string_view type, int64_t window_millis) const = 0;
  // The user's JSON when the scope's `user` is null: a host may read the user only when an
  // expression first needs it (a timer's run that never looks at the user never loads it).
  virtual const boost::json::value* LazyUser() const { return nullptr; }
  // Likewise the event when the scope's `event` is null (a timer's run parses the execution's
  // event only if something reads it).
  virtual const boost::json::value* LazyEvent() const { return nullptr; }
};

// The roots that paths resolve against. Any pointer may be null: paths under it are null.
//   user  — {"id", "traits": {...}, "tags": [...], "timezone", "identities": {...}, ...}
//   event — {"type", "user_id", "properties": {...}, "timestamp", "message_id"}
//   ctx   — the execution's data (a JSON object); `ctx.item` is the current ITERATOR item.
// `user.X` reads user["X"] when present, else user.traits["X"]; `event.X` reads event["X"] when
// present, else event.properties["X"]. has_tag(name) reads user.tags.
struct Scope {
  const boost::json::value* user = nullptr;
  const boost::json::value* event = nullptr;
  const boost::json::value* ctx = nullptr;
  const EvalHost* host = nullptr;  // null: now() is 0 and count_events() is 0

  // `user`, or the host's lazily read user when `user` is null.
  const boost::json::value* User() const { return user ? user : host ? host->LazyUser() : nullptr; }
  // `event`, or the host's lazily parsed event when `event` is null.
  const boost::json::value* Event() const { return event ? event : host ? host->LazyEvent() : nullptr; }
};

class Expression {
 public:
  // Parses and type-checks `source`. On failure returns null and appends every error found
  // to `errors` (at least one). Thread-safe; the result is immutable.
  static std::shared_ptr<const Expression> Compile(std::string_view source,
                                                   std::vector<ExprError>& errors);

  virtual ~Expression() = default;
  // The static type of the whole expression (kAny when it depends on data).
  virtual ExprType type() const = 0;
  // The source text it was compiled from.
  virtual const std::string& source() const = 0;
  // Evaluates against `scope`. Thread-safe (no mutable state). Values that borrow from the
  // scope's JSON stay valid as long as that JSON does.
  virtual Value Evaluate(const Scope& scope) const = 0;
};

}  // namespace reach::dsl
