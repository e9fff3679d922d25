// The flow language's speed, each figure against a baseline measured in the same run:
//   1. compile time of a generated flow set of 1,000 nodes and 200 chains (median of runs),
//      against the time to merely parse the same YAML with yaml-cpp (the floor any loader pays);
//   2. expression evaluations per second for `user.city == "Shanghai" && user.age >= 18`,
//      against a hand-written C++ lambda doing the same comparison on the same JSON.
//
// Run: build/bench/dsl_bench            (prints the figures and this command)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <yaml-cpp/yaml.h>

#include "dsl/expression.h"
#include "dsl/flow_compiler.h"
#include "nodes/builtin_kinds.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// 1,000 nodes of mixed kinds and 200 chains, each chain using nodes and calling the previous one.
std::string GenerateFlowSet() {
  std::string s = "flow:\n  nodes:\n";
  for (int i = 0; i < 1000; ++i) {
    switch (i % 5) {
      case 0: s += "    - {id: n" + std::to_string(i) + ", type: noop}\n"; break;
      case 1: s += "    - {id: n" + std::to_string(i) + ", type: condition, if: 'user.age >= " + std::to_string(i % 90) + " && has_tag(\"vip\")'}\n"; break;
      case 2: s += "    - {id: n" + std::to_string(i) + ", type: wait_event, event: e" + std::to_string(i) + ", timeout: 3d}\n"; break;
      case 3: s += "    - {id: n" + std::to_string(i) + ", type: tag, add: [t" + std::to_string(i) + "]}\n"; break;
      case 4: s += "    - {id: n" + std::to_string(i) + ", type: wechat.template, template_id: TPL, data: {first: 'Hi {{user.nickname}}'}}\n"; break;
    }
  }
  s += "  chain:\n";
  for (int c = 0; c < 200; ++c) {
    int b = c * 5;
    std::string el = "THEN(n" + std::to_string(b) + ", IF(n" + std::to_string(b + 1) + ", WHEN(n" +
                     std::to_string(b + 3) + ", n" + std::to_string(b + 4) + "), IF(n" + std::to_string(b + 2) +
                     ", n" + std::to_string(b) + "))";
    if (c > 0) el += ", c" + std::to_string(c - 1);
    el += ")";
    s += "    - name: c" + std::to_string(c) + "\n      value: \"" + el + "\"\n";
  }
  return s;
}

}  // namespace

int main() {
  std::printf("command: build/bench/dsl_bench\n\n");
  const std::string text = GenerateFlowSet();

  // 1. Compile time.
  std::vector<double> compile, parse;
  for (int run = 0; run < 9; ++run) {
    auto t0 = Clock::now();
    YAML::Node n = YAML::Load(text);
    auto t1 = Clock::now();
    parse.push_back(Seconds(t0, t1));
    reach::dsl::FlowCompiler compiler(reach::nodes::BuiltinKinds());
    compiler.AddFile("bench.yaml", text);
    reach::dsl::Diagnostics diags;
    auto t2 = Clock::now();
    auto graph = compiler.Compile(diags);
    auto t3 = Clock::now();
    if (!graph) {
      std::fprintf(stderr, "%s", diags.Format(compiler.sources()).c_str());
      return 1;
    }
    compile.push_back(Seconds(t2, t3));
  }
  double c = Median(compile), p = Median(parse);
  std::printf("compile 1,000 nodes / 200 chains: median %.1f ms over 9 runs\n", c * 1e3);
  std::printf("  baseline yaml-cpp parse only:   median %.1f ms\n", p * 1e3);
  std::printf("  ratio compile / parse: %.2f\n\n", c / p);

  // 2. Expression evaluation.
  boost::json::value user = boost::json::parse(
      R"({"id":"u1","traits":{"city":"Shanghai","age":30,"nickname":"Li"},"tags":["vip","new"]})");
  std::vector<reach::dsl::ExprError> errors;
  auto expr = reach::dsl::Expression::Compile(R"(user.city == "Shanghai" && user.age >= 18)", errors);
  if (!expr) return 1;
  reach::dsl::Scope scope{&user, nullptr, nullptr, nullptr};
  auto lambda = [](const boost::json::value& u) {
    const boost::json::object& traits = u.as_object().at("traits").as_object();
    const boost::json::value* city = traits.if_contains("city");
    const boost::json::value* age = traits.if_contains("age");
    return city && city->is_string() && city->as_string() == "Shanghai" && age && age->is_number() &&
           age->to_number<double>() >= 18;
  };
  constexpr int kIters = 2'000'000;
  std::vector<double> expr_rates, lambda_rates;
  volatile int sink = 0;
  for (int run = 0; run < 7; ++run) {
    auto t0 = Clock::now();
    for (int i = 0; i < kIters; ++i) sink += expr->Evaluate(scope).as_bool();
    auto t1 = Clock::now();
    for (int i = 0; i < kIters; ++i) sink += lambda(user);
    auto t2 = Clock::now();
    expr_rates.push_back(kIters / Seconds(t0, t1));
    lambda_rates.push_back(kIters / Seconds(t1, t2));
  }
  double e = Median(expr_rates), l = Median(lambda_rates);
  std::printf("expression evaluations: median %.1f M/s over 7 runs of %d\n", e / 1e6, kIters);
  std::printf("  baseline hand-written lambda: median %.1f M/s\n", l / 1e6);
  std::printf("  ratio expression / lambda: %.2f\n", e / l);
  return sink == -1;
}
