#pragma once
// The compiled form of an expression: a tree of typed nodes, built and checked once by the
// Checker, then evaluated recursively (and concurrently) by Expression::Evaluate. Nodes are
// immutable after construction; evaluation allocates only for values it computes (a
// concatenation, a list literal with paths in it, a conversion to string, an error).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/regex.hpp>

#include "dsl/expr_ops.h"
#include "dsl/expression.h"
#include "dsl/value.h"

namespace reach::dsl::expr {

struct FunctionInfo;

class Node {
 public:
  Node(ExprType type, size_t offset) : type_(type), offset_(offset) {}
  virtual ~Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  virtual Value Eval(const Scope& scope) const = 0;
  // Non-null when the node is a compile-time constant (a literal or a folded expression).
  virtual const Value* constant() const { return nullptr; }
  // The node's value: the constant itself when there is one (no copy, no reference-count
  // traffic for literal strings and lists), else evaluated into `storage`.
  const Value& EvalRef(const Scope& scope, Value& storage) const {
    if (const Value* c = constant()) return *c;
    storage = Eval(scope);
    return storage;
  }

  ExprType type() const { return type_; }
  // Where the node's source text starts (for messages about it as an argument or operand).
  size_t offset() const { return offset_; }
  // Height of the subtree; the checker bounds it so that evaluation cannot overflow the stack.
  uint32_t depth() const { return depth_; }
  void set_depth(uint32_t depth) { depth_ = depth; }

 private:
  ExprType type_;
  size_t offset_;
  uint32_t depth_ = 1;
};

using NodePtr = std::unique_ptr<Node>;

class LiteralNode final : public Node {
 public:
  LiteralNode(Value value, size_t offset);
  Value Eval(const Scope&) const override { return value_; }
  const Value* constant() const override { return &value_; }

 private:
  Value value_;
};

// Stands where a syntax or type error was reported; never evaluated (Compile fails).
class InvalidNode final : public Node {
 public:
  // `syntax`: stands for text that did not parse, so even its count is unknown (an argument
  // list with a hole in it is not arity-checked).
  InvalidNode(size_t offset, bool syntax) : Node(ExprType::kAny, offset), syntax_(syntax) {}
  Value Eval(const Scope&) const override { return Value::Error("invalid expression"); }
  bool syntax() const { return syntax_; }

 private:
  bool syntax_;
};

enum class Root : uint8_t { kUser, kEvent, kCtx };

// One static step of a path: a key (`.name`, `["name"]`) or a list index (`[0]`).
struct PathSegment {
  std::string key;
  size_t index = 0;
  bool is_index = false;
};

// A path with every segment known at compile time. Either it starts at a scope root, and is
// walked over the JSON directly (no Value is built until the end, nothing is allocated), or it
// selects into the value of another node (`[1, 2][0]`, `(a ? b : c).name`).
class PathNode final : public Node {
 public:
  PathNode(Root root, size_t offset);
  PathNode(NodePtr base, size_t offset);
  void AddKey(std::string key) { segments_.push_back({std::move(key), 0, false}); }
  void AddIndex(size_t index) { segments_.push_back({{}, index, true}); }
  bool has_base() const { return base_ != nullptr; }
  Value Eval(const Scope& scope) const override;

 private:
  Value EvalRoot(const Scope& scope) const;
  Root root_ = Root::kCtx;
  NodePtr base_;
  std::vector<PathSegment> segments_;
};

// `base[index]` with an index computed at run time.
class IndexNode final : public Node {
 public:
  IndexNode(NodePtr base, NodePtr index, size_t offset);
  Value Eval(const Scope& scope) const override;

 private:
  NodePtr base_;
  NodePtr index_;
};

class ListNode final : public Node {
 public:
  ListNode(std::vector<NodePtr> items, size_t offset);
  Value Eval(const Scope& scope) const override;

 private:
  std::vector<NodePtr> items_;
};

class UnaryNode final : public Node {
 public:
  UnaryNode(UnaryOp op, NodePtr operand, ExprType type, size_t offset);
  Value Eval(const Scope& scope) const override;

 private:
  UnaryOp op_;
  NodePtr operand_;
};

// Every binary operator but && and ||, which short-circuit (LogicalNode).
class BinaryNode final : public Node {
 public:
  BinaryNode(BinaryOp op, NodePtr lhs, NodePtr rhs, ExprType type, size_t offset);
  Value Eval(const Scope& scope) const override;

 private:
  BinaryOp op_;
  NodePtr lhs_;
  NodePtr rhs_;
};

class LogicalNode final : public Node {
 public:
  LogicalNode(bool is_and, NodePtr lhs, NodePtr rhs, size_t offset);
  Value Eval(const Scope& scope) const override;

 private:
  bool is_and_;
  NodePtr lhs_;
  NodePtr rhs_;
};

// cond ? then : otherwise — only the chosen branch is evaluated.
class ConditionalNode final : public Node {
 public:
  ConditionalNode(NodePtr cond, NodePtr then, NodePtr otherwise, ExprType type, size_t offset);
  Value Eval(const Scope& scope) const override;

 private:
  NodePtr cond_;
  NodePtr then_;
  NodePtr otherwise_;
};

// A call of a built-in function; a method call `x.f(y)` is stored as f(x, y).
class CallNode final : public Node {
 public:
  // `pattern`: for matches() with a literal pattern, the regex compiled once at Compile time.
  CallNode(const FunctionInfo& fn, bool as_method, std::vector<NodePtr> args,
           std::shared_ptr<const boost::regex> pattern, size_t offset);
  Value Eval(const Scope& scope) const override;
  const FunctionInfo& function() const { return fn_; }

 private:
  const FunctionInfo& fn_;
  bool as_method_;
  std::vector<NodePtr> args_;
  std::shared_ptr<const boost::regex> pattern_;
};

}  // namespace reach::dsl::expr
