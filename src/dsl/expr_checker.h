#pragma once
// Checker: builds the typed node tree for the parser, one node at a time, and checks each node
// as it is built — names, functions, arities, statically-known argument and operand types.
// Every problem is appended to the error list with its byte offset and checking goes on: a
// rejected node becomes an InvalidNode of type kAny, which is compatible with everything, so one
// mistake does not cascade into more messages.
//
// It also folds constants: an operator or a pure function whose operands are all literals is
// evaluated once here (so duration("3d") is a literal Duration, and duration("3x") a compile
// error at its argument), and a literal matches() pattern is compiled once.

#include <string>
#include <string_view>
#include <vector>

#include "dsl/expr_nodes.h"

namespace reach::dsl::expr {

class Checker {
 public:
  // Subtrees taller than this are rejected ("expression nested too deeply") so that evaluating
  // and destroying a tree cannot exhaust the stack.
  static constexpr uint32_t kMaxDepth = 500;

  explicit Checker(std::vector<ExprError>& errors) : errors_(errors) {}

  NodePtr Literal(Value value, size_t offset);
  // A placeholder where a syntax error was reported.
  NodePtr Invalid(size_t offset);
  // A placeholder for a node rejected by a check.
  NodePtr Rejected(size_t offset);
  // A bare name: one of the roots user, event, ctx.
  NodePtr Name(std::string_view name, size_t offset);
  // base.key
  NodePtr Select(NodePtr base, std::string key, size_t dot_offset);
  // base[index]
  NodePtr Index(NodePtr base, NodePtr index, size_t bracket_offset);
  NodePtr List(std::vector<NodePtr> items, size_t offset);
  NodePtr Unary(UnaryOp op, size_t op_offset, NodePtr operand);
  NodePtr Binary(BinaryOp op, size_t op_offset, NodePtr lhs, NodePtr rhs);
  NodePtr Conditional(NodePtr cond, size_t question_offset, NodePtr then, NodePtr otherwise);
  // name(args...) or, with a receiver, receiver.name(args...).
  NodePtr Call(std::string_view name, size_t name_offset, NodePtr receiver, std::vector<NodePtr> args);

 private:
  void Error(size_t offset, std::string message);
  // Bounds the depth, then folds `node` into a literal when `foldable` (an error found while
  // folding is reported at `error_offset`).
  NodePtr Finish(NodePtr node, bool foldable, size_t error_offset);

  std::vector<ExprError>& errors_;
  bool reported_depth_ = false;
};

// The candidate closest to `name` (a different case or underscores, or one edit away — two
// for names longer than four letters), or "" when none is close: the "did you mean" of error messages.
std::string_view ClosestName(std::string_view name, const std::vector<std::string_view>& candidates);

}  // namespace reach::dsl::expr
