#include "dsl/expression.h"

#include <algorithm>

#include "dsl/expr_checker.h"
#include "dsl/expr_lexer.h"
#include "dsl/expr_nodes.h"
#include "dsl/expr_parser.h"

namespace reach::dsl {

namespace {

// A compiled expression: the source and the root of its checked node tree.
class CompiledExpression final : public Expression {
 public:
  CompiledExpression(std::string source, expr::NodePtr root) : source_(std::move(source)), root_(std::move(root)) {}
  ExprType type() const override { return root_->type(); }
  const std::string& source() const override { return source_; }
  Value Evaluate(const Scope& scope) const override { return root_->Eval(scope); }

 private:
  std::string source_;
  expr::NodePtr root_;
};

bool IsBlank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

}  // namespace

std::string_view ExprTypeName(ExprType type) {
  switch (type) {
    case ExprType::kAny: return "any";
    case ExprType::kNull: return "null";
    case ExprType::kBool: return "bool";
    case ExprType::kNumber: return "number";
    case ExprType::kString: return "string";
    case ExprType::kList: return "list";
    case ExprType::kMap: return "map";
    case ExprType::kTimestamp: return "timestamp";
    case ExprType::kDuration: return "duration";
  }
  return "?";
}

std::shared_ptr<const Expression> Expression::Compile(std::string_view source, std::vector<ExprError>& errors) {
  std::vector<ExprError> found;
  expr::NodePtr root;
  if (IsBlank(source)) {
    found.push_back({0, "empty expression"});
  } else {
    std::vector<expr::Token> tokens = expr::Lex(source, found);
    expr::Checker checker(found);
    expr::Parser parser(source, std::move(tokens), checker, found);
    root = parser.Parse();
  }
  if (found.empty()) return std::make_shared<CompiledExpression>(std::string(source), std::move(root));

  // In source order, each problem once (the lexer and the parser can meet the same token).
  std::stable_sort(found.begin(), found.end(),
                   [](const ExprError& a, const ExprError& b) { return a.offset < b.offset; });
  for (size_t i = 0; i < found.size(); ++i) {
    if (i > 0 && found[i].offset == found[i - 1].offset && found[i].message == found[i - 1].message) continue;
    errors.push_back(std::move(found[i]));
  }
  return nullptr;
}

}  // namespace reach::dsl
