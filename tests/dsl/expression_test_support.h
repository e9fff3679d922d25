#pragma once
// Helpers shared by the expression tests: a fake EvalHost, a sample user/event/ctx, and
// one-liners to evaluate an expression or collect its compile errors.

#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "dsl/expression.h"

namespace reach::dsl {
// So that gtest prints a Value as "number 3" rather than as bytes.
inline void PrintTo(const Value& v, std::ostream* os) { *os << KindName(v.kind()) << " " << v.ToString(); }
}  // namespace reach::dsl

namespace reach::dsl::testing {

// A clock fixed at `now_millis` and event counts looked up by type; remembers the last query.
class FakeHost final : public EvalHost {
 public:
  int64_t NowMillis() const override { return now_millis; }
  int64_t CountEvents(std::string_view type, int64_t window) const override {
    last_type = std::string(type);
    last_window = window;
    auto it = counts.find(last_type);
    return it == counts.end() ? 0 : it->second;
  }

  int64_t now_millis = 0;
  std::map<std::string, int64_t> counts;
  mutable std::string last_type;
  mutable int64_t last_window = -1;
};

// (offset, message) pairs: gtest prints them readably when a comparison fails.
using Errors = std::vector<std::pair<size_t, std::string>>;

// The compile errors of `source` (empty when it compiles).
inline Errors CompileErrors(std::string_view source) {
  std::vector<ExprError> errors;
  auto expr = Expression::Compile(source, errors);
  Errors out;
  for (const ExprError& e : errors) out.emplace_back(e.offset, e.message);
  if (expr && !out.empty()) ADD_FAILURE() << "Compile returned an expression and errors";
  if (!expr && out.empty()) ADD_FAILURE() << "Compile failed without an error";
  return out;
}

// Compiles `source`, failing the test on a compile error.
inline std::shared_ptr<const Expression> MustCompile(std::string_view source) {
  std::vector<ExprError> errors;
  auto expr = Expression::Compile(source, errors);
  for (const ExprError& e : errors) ADD_FAILURE() << source << ": " << e.offset << ": " << e.message;
  return expr;
}

// Values never borrow from the Expression itself, so returning one after the Expression is
// gone is fine (a test below pins that down).
inline Value Eval(std::string_view source, const Scope& scope = {}) {
  auto expr = MustCompile(source);
  return expr ? expr->Evaluate(scope) : Value::Error("did not compile");
}

// A user, an event and an execution context used across the tests.
class ExpressionTest : public ::testing::Test {
 protected:
  ExpressionTest() {
    user_ = boost::json::parse(R"({
      "id": "u1", "name": "Top-level name", "tags": ["vip", "beta"], "timezone": "Asia/Shanghai",
      "traits": {"city": "Shanghai", "name": "Trait name", "age": 31, "score": 4.5,
                 "signup_at": "2026-01-01T00:00:00Z", "prefs": {"channel": "sms", "city": "Beijing"},
                 "orders": [{"sku": "A", "price": 10}, {"sku": "B", "price": 25}]}})");
    event_ = boost::json::parse(R"({
      "type": "form_submitted", "user_id": "u1", "timestamp": "2026-03-01T10:00:00Z",
      "properties": {"form_id": "spring-sale", "type": "shadowed", "amount": 99.5, "items": ["a", "b"]}})");
    ctx_ = boost::json::parse(R"({
      "item": {"sku": "A"}, "i": 1, "count": 3, "zero": 0, "flags": {"x": null},
      "prefs_copy": {"city": "Beijing", "channel": "sms"}, "window": "2h", "bad_window": "2x",
      "pattern": "^S", "bad_pattern": "(", "text": "3.5", "key": "channel"})");
    host_.now_millis = 1772359200000;  // 2026-03-01T10:00:00Z
    scope_ = Scope{&user_, &event_, &ctx_, &host_};
  }

  Value Run(std::string_view source) const { return Eval(source, scope_); }

  boost::json::value user_, event_, ctx_;
  FakeHost host_;
  Scope scope_;
};

}  // namespace reach::dsl::testing
