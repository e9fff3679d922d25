#include "dsl/expr_checker.h"

#include <algorithm>

#include "dsl/expr_functions.h"

namespace reach::dsl::expr {

namespace {

using T = ExprType;

bool IsConstant(const NodePtr& n) { return n && n->constant() != nullptr; }

std::string TypeName(T t) { return std::string(ExprTypeName(t)); }

std::string Lowered(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '_') continue;
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return out;
}

// Edits (insert, delete, substitute, swap two neighbours) between a and b.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string Plural(size_t n) {
  if (n == 0) return "no arguments";
  return std::to_string(n) + (n == 1 ? " argument" : " arguments");
}

}  // namespace

std::string_view ClosestName(std::string_view name, const std::vector<std::string_view>& candidates) {
  std::string lowered = Lowered(name);
  for (std::string_view c : candidates) {
    if (Lowered(c) == lowered) return c;
  }
  // Short names allow one edit: "foo" is not a misspelt "now".
  size_t allowed = lowered.size() <= 4 ? 1 : 2;
  std::string_view best;
  size_t best_distance = allowed + 1;
  for (std::string_view c : candidates) {
    size_t d = EditDistance(lowered, Lowered(c));
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

void Checker::Error(size_t offset, std::string message) { errors_.push_back({offset, std::move(message)}); }

NodePtr Checker::Finish(NodePtr node, bool foldable, size_t error_offset) {
  if (node->depth() > kMaxDepth) {
    if (!reported_depth_) Error(node->offset(), "expression nested too deeply");
    reported_depth_ = true;
    return Rejected(node->offset());
  }
  if (!foldable) return node;
  Value v = node->Eval(Scope{});
  if (v.is_error()) {
    Error(error_offset, std::string(v.as_string()));
    return Rejected(node->offset());
  }
  return Literal(std::move(v), node->offset());
}

NodePtr Checker::Literal(Value value, size_t offset) {
  return std::make_unique<LiteralNode>(std::move(value), offset);
}

NodePtr Checker::Invalid(size_t offset) { return std::make_unique<InvalidNode>(offset, true); }
NodePtr Checker::Rejected(size_t offset) { return std::make_unique<InvalidNode>(offset, false); }

NodePtr Checker::Name(std::string_view name, size_t offset) {
  if (name == "user") return std::make_unique<PathNode>(Root::kUser, offset);
  if (name == "event") return std::make_unique<PathNode>(Root::kEvent, offset);
  if (name == "ctx") return std::make_unique<PathNode>(Root::kCtx, offset);
  std::string message = "unknown name '" + std::string(name) + "'";
  if (FindFunction(name)) {
    message += "; did you mean '" + std::string(name) + "()'?";
  } else if (std::string_view s = ClosestName(name, {"user", "event", "ctx"}); !s.empty()) {
    message += "; did you mean '" + std::string(s) + "'?";
  } else {
    message += "; a path starts with user, event or ctx";
  }
  Error(offset, std::move(message));
  return Rejected(offset);
}

NodePtr Checker::Select(NodePtr base, std::string key, size_t dot_offset) {
  T bt = base->type();
  if (bt != T::kAny && bt != T::kMap) {
    Error(dot_offset, "cannot select field '" + key + "' from a " + TypeName(bt));
    return Rejected(base->offset());
  }
  if (auto* path = dynamic_cast<PathNode*>(base.get())) {
    path->AddKey(std::move(key));
    return base;
  }
  size_t offset = base->offset();
  auto path = std::make_unique<PathNode>(std::move(base), offset);
  path->AddKey(std::move(key));
  return Finish(std::move(path), false, dot_offset);
}

NodePtr Checker::Index(NodePtr base, NodePtr index, size_t bracket_offset) {
  T bt = base->type(), it = index->type();
  if (bt != T::kAny && bt != T::kList && bt != T::kMap) {
    Error(bracket_offset, "cannot index a " + TypeName(bt));
    return Rejected(base->offset());
  }
  if (it != T::kAny) {
    std::string problem;
    if (bt == T::kList && it != T::kNumber) problem = "a list index must be a number, got ";
    else if (bt == T::kMap && it != T::kString) problem = "a map key must be a string, got ";
    else if (bt == T::kAny && it != T::kNumber && it != T::kString) problem = "an index must be a number or a string, got ";
    if (!problem.empty()) {
      Error(index->offset(), problem + TypeName(it));
      return Rejected(base->offset());
    }
  }
  auto* path = dynamic_cast<PathNode*>(base.get());
  if (const Value* k = index->constant()) {
    if (k->kind() == Value::Kind::kNumber && (!k->is_integral() || k->as_number() < 0)) {
      Error(index->offset(), "a list index must be a non-negative integer, got " + k->ToString());
      return Rejected(base->offset());
    }
    if (path) {  // a static segment: resolved once, walked without building Values
      if (k->kind() == Value::Kind::kNumber) path->AddIndex(static_cast<size_t>(k->as_int()));
      else path->AddKey(std::string(k->as_string()));
      return base;
    }
  }
  bool foldable = IsConstant(base) && IsConstant(index);
  size_t offset = base->offset();
  return Finish(std::make_unique<IndexNode>(std::move(base), std::move(index), offset), foldable, bracket_offset);
}

NodePtr Checker::List(std::vector<NodePtr> items, size_t offset) {
  bool foldable = std::all_of(items.begin(), items.end(), IsConstant);
  return Finish(std::make_unique<ListNode>(std::move(items), offset), foldable, offset);
}

NodePtr Checker::Unary(UnaryOp op, size_t op_offset, NodePtr operand) {
  std::optional<T> type = UnaryResultType(op, operand->type());
  if (!type) {
    Error(op_offset, "operator '" + std::string(OpSymbol(op)) + "' is not defined for " + TypeName(operand->type()));
    return Rejected(op_offset);
  }
  bool foldable = IsConstant(operand);
  return Finish(std::make_unique<UnaryNode>(op, std::move(operand), *type, op_offset), foldable, op_offset);
}

NodePtr Checker::Binary(BinaryOp op, size_t op_offset, NodePtr lhs, NodePtr rhs) {
  T lt = lhs->type(), rt = rhs->type();
  std::optional<T> type = BinaryResultType(op, lt, rt);
  if (!type) {
    std::string message = "operator '" + std::string(OpSymbol(op)) + "' is not defined for " + TypeName(lt) +
                          " and " + TypeName(rt);
    bool l_time = lt == T::kTimestamp || lt == T::kDuration, r_time = rt == T::kTimestamp || rt == T::kDuration;
    if ((lt == T::kString && r_time) || (rt == T::kString && l_time)) {
      message += "; convert the string with timestamp(...) or duration(...)";
    }
    Error(op_offset, std::move(message));
    return Rejected(lhs->offset());
  }
  bool foldable = IsConstant(lhs) && IsConstant(rhs);
  size_t offset = lhs->offset();
  NodePtr node;
  if (op == BinaryOp::kAnd || op == BinaryOp::kOr) {
    node = std::make_unique<LogicalNode>(op == BinaryOp::kAnd, std::move(lhs), std::move(rhs), offset);
  } else {
    node = std::make_unique<BinaryNode>(op, std::move(lhs), std::move(rhs), *type, offset);
  }
  return Finish(std::move(node), foldable, op_offset);
}

NodePtr Checker::Conditional(NodePtr cond, size_t question_offset, NodePtr then, NodePtr otherwise) {
  T ct = cond->type();
  if (ct != T::kAny && ct != T::kBool) {
    Error(question_offset, "the condition of '?:' must be bool, got " + TypeName(ct));
    return Rejected(cond->offset());
  }
  if (const Value* c = cond->constant()) return c->as_bool() ? std::move(then) : std::move(otherwise);
  T type = then->type() == otherwise->type() ? then->type() : T::kAny;
  size_t offset = cond->offset();
  return Finish(std::make_unique<ConditionalNode>(std::move(cond), std::move(then), std::move(otherwise), type, offset),
                false, question_offset);
}

NodePtr Checker::Call(std::string_view name, size_t name_offset, NodePtr receiver, std::vector<NodePtr> args) {
  const FunctionInfo* fn = FindFunction(name);
  if (!fn) {
    std::string message = "unknown function '" + std::string(name) + "'";
    if (std::string_view s = ClosestName(name, FunctionNames()); !s.empty()) {
      message += "; did you mean '" + std::string(s) + "'?";
    }
    Error(name_offset, std::move(message));
    return Rejected(receiver ? receiver->offset() : name_offset);
  }
  const bool as_method = receiver != nullptr;
  const size_t offset = as_method ? receiver->offset() : name_offset;
  if (as_method && !fn->method) {
    Error(name_offset, std::string(name) + " cannot be called as a method; write " + std::string(name) + "(...)");
    return Rejected(offset);
  }
  if (as_method) args.insert(args.begin(), std::move(receiver));
  for (const NodePtr& arg : args) {
    auto* invalid = dynamic_cast<const InvalidNode*>(arg.get());
    if (invalid && invalid->syntax()) return Rejected(offset);
  }
  if (args.size() != fn->arity) {
    size_t skip = as_method ? 1 : 0;
    Error(name_offset, std::string(name) + " takes " + Plural(fn->arity - skip) + ", got " +
                           std::to_string(args.size() - skip));
    return Rejected(offset);
  }
  std::vector<T> types;
  bool ok = true;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string problem = CheckArgument(*fn, as_method, i, args[i]->type(), types);
    if (!problem.empty()) {
      Error(args[i]->offset(), std::move(problem));
      ok = false;
    }
    types.push_back(args[i]->type());
  }
  if (!ok) return Rejected(offset);

  std::shared_ptr<const boost::regex> pattern;
  if (fn->id == FunctionId::kMatches && IsConstant(args[1])) {
    std::string message;
    pattern = CompileRegex(args[1]->constant()->as_string(), message);
    if (!pattern) {
      Error(args[1]->offset(), std::move(message));
      return Rejected(offset);
    }
  }
  if (fn->id == FunctionId::kCountEvents && IsConstant(args[1]) &&
      args[1]->constant()->kind() == Value::Kind::kString) {
    // A literal window is parsed once, here, rather than on every evaluation.
    size_t window_offset = args[1]->offset();
    std::vector<NodePtr> window_args;
    window_args.push_back(std::move(args[1]));
    NodePtr window = Call("duration", window_offset, nullptr, std::move(window_args));
    if (!window->constant()) return Rejected(offset);
    args[1] = std::move(window);
  }
  bool foldable = fn->pure && std::all_of(args.begin(), args.end(), IsConstant);
  size_t error_offset = args.empty() ? name_offset : args[0]->offset();
  return Finish(std::make_unique<CallNode>(*fn, as_method, std::move(args), std::move(pattern), offset), foldable,
                error_offset);
}

}  // namespace reach::dsl::expr
