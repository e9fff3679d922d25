// Fuzzes the expression language: compile, and when it compiles, evaluate against a scope.
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "dsl/expression.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const boost::json::value user = boost::json::parse(
      R"({"id":"u1","traits":{"city":"Shanghai","age":30,"list":[1,"a",{"k":null}]},"tags":["vip"]})");
  static const boost::json::value event = boost::json::parse(R"({"type":"t","properties":{"amount":12.5}})");
  static const boost::json::value ctx = boost::json::parse(R"({"item":{"n":1},"count":3})");
  std::string source(reinterpret_cast<const char*>(data), size);
  std::vector<reach::dsl::ExprError> errors;
  auto expr = reach::dsl::Expression::Compile(source, errors);
  if (!expr) {
    if (errors.empty()) std::abort();
    for (const auto& e : errors)
      if (e.offset > source.size() || e.message.empty()) std::abort();
    return 0;
  }
  reach::dsl::Scope scope{&user, &event, &ctx, nullptr};
  reach::dsl::Value v = expr->Evaluate(scope);
  (void)v.ToString();
  (void)v.ToJson();
  return 0;
}
