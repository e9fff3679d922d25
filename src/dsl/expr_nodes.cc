#include "dsl/expr_nodes.h"

#include <array>
#include <cmath>

#include <boost/json.hpp>

#include "dsl/expr_functions.h"

namespace reach::dsl::expr {

namespace {

uint32_t DepthOf(std::initializer_list<const Node*> children) {
  uint32_t d = 0;
  for (const Node* c : children) {
    if (c && c->depth() > d) d = c->depth();
  }
  return d + 1;
}

// The key the first segment falls back to when the root object lacks it.
std::string_view FallbackKey(Root root) {
  switch (root) {
    case Root::kUser: return "traits";
    case Root::kEvent: return "properties";
    case Root::kCtx: return {};
  }
  return {};
}

Value ConditionNotBool(std::string_view what, const Value& v) {
  return Value::Error(std::string(what) + " must be bool, got " + std::string(KindName(v.kind())));
}

}  // namespace

LiteralNode::LiteralNode(Value value, size_t offset)
    : Node(TypeOfKind(value.kind()), offset), value_(std::move(value)) {}

PathNode::PathNode(Root root, size_t offset) : Node(ExprType::kAny, offset), root_(root) {}

PathNode::PathNode(NodePtr base, size_t offset) : Node(ExprType::kAny, offset), base_(std::move(base)) {
  set_depth(DepthOf({base_.get()}));
}

Value PathNode::EvalRoot(const Scope& scope) const {
  const boost::json::value* at = root_ == Root::kUser ? scope.User() : root_ == Root::kEvent ? scope.Event() : scope.ctx;
  if (!at) return Value::Null();
  for (size_t i = 0; i < segments_.size(); ++i) {
    const PathSegment& seg = segments_[i];
    if (seg.is_index) {
      const boost::json::array* arr = at->if_array();
      if (!arr || seg.index >= arr->size()) return Value::Null();
      at = &(*arr)[seg.index];
      continue;
    }
    const boost::json::object* obj = at->if_object();
    if (!obj) return Value::Null();
    const boost::json::value* next = obj->if_contains(seg.key);
    if (!next && i == 0 && root_ != Root::kCtx) {
      // user.X is user.traits.X and event.X is event.properties.X unless the root has X itself.
      const boost::json::value* nested = obj->if_contains(FallbackKey(root_));
      if (nested && nested->is_object()) next = nested->get_object().if_contains(seg.key);
    }
    if (!next) return Value::Null();
    at = next;
  }
  return Value::FromJson(*at);
}

Value PathNode::Eval(const Scope& scope) const {
  if (!base_) return EvalRoot(scope);
  Value v = base_->Eval(scope);
  for (const PathSegment& seg : segments_) {
    if (v.is_error()) return v;
    v = seg.is_index ? v.list_item(seg.index) : v.map_get(seg.key);
  }
  return v;
}

IndexNode::IndexNode(NodePtr base, NodePtr index, size_t offset)
    : Node(ExprType::kAny, offset), base_(std::move(base)), index_(std::move(index)) {
  set_depth(DepthOf({base_.get(), index_.get()}));
}

// Out of range, a missing key or a base that is not a container is null (missing data); an
// index of the wrong type for the container is an error.
Value IndexNode::Eval(const Scope& scope) const {
  Value base = base_->Eval(scope);
  if (base.is_error()) return base;
  Value index = index_->Eval(scope);
  if (index.is_error()) return index;
  if (base.kind() == Value::Kind::kList) {
    if (index.kind() != Value::Kind::kNumber) {
      return Value::Error("a list index must be a number, got " + std::string(KindName(index.kind())));
    }
    double i = index.as_number();
    if (!index.is_integral() || i < 0) return Value::Null();
    return base.list_item(static_cast<size_t>(i));
  }
  if (base.kind() == Value::Kind::kMap) {
    if (index.kind() != Value::Kind::kString) {
      return Value::Error("a map key must be a string, got " + std::string(KindName(index.kind())));
    }
    return base.map_get(index.as_string());
  }
  return Value::Null();
}

ListNode::ListNode(std::vector<NodePtr> items, size_t offset)
    : Node(ExprType::kList, offset), items_(std::move(items)) {
  uint32_t d = 0;
  for (const NodePtr& item : items_) d = std::max(d, item->depth());
  set_depth(d + 1);
}

Value ListNode::Eval(const Scope& scope) const {
  std::vector<Value> values;
  values.reserve(items_.size());
  for (const NodePtr& item : items_) {
    Value v = item->Eval(scope);
    if (v.is_error()) return v;
    values.push_back(std::move(v));
  }
  return Value::OwnList(std::move(values));
}

UnaryNode::UnaryNode(UnaryOp op, NodePtr operand, ExprType type, size_t offset)
    : Node(type, offset), op_(op), operand_(std::move(operand)) {
  set_depth(DepthOf({operand_.get()}));
}

Value UnaryNode::Eval(const Scope& scope) const {
  Value storage;
  const Value& v = operand_->EvalRef(scope, storage);
  if (v.is_error()) return v;
  return ApplyUnary(op_, v);
}

BinaryNode::BinaryNode(BinaryOp op, NodePtr lhs, NodePtr rhs, ExprType type, size_t offset)
    : Node(type, offset), op_(op), lhs_(std::move(lhs)), rhs_(std::move(rhs)) {
  set_depth(DepthOf({lhs_.get(), rhs_.get()}));
}

Value BinaryNode::Eval(const Scope& scope) const {
  Value a_storage, b_storage;
  const Value& a = lhs_->EvalRef(scope, a_storage);
  if (a.is_error()) return a;
  const Value& b = rhs_->EvalRef(scope, b_storage);
  if (b.is_error()) return b;
  return ApplyBinary(op_, a, b);
}

LogicalNode::LogicalNode(bool is_and, NodePtr lhs, NodePtr rhs, size_t offset)
    : Node(ExprType::kBool, offset), is_and_(is_and), lhs_(std::move(lhs)), rhs_(std::move(rhs)) {
  set_depth(DepthOf({lhs_.get(), rhs_.get()}));
}

Value LogicalNode::Eval(const Scope& scope) const {
  std::string_view what = is_and_ ? "the operands of '&&'" : "the operands of '||'";
  Value a = lhs_->Eval(scope);
  if (a.is_error()) return a;
  if (a.kind() != Value::Kind::kBool) return ConditionNotBool(what, a);
  if (a.as_bool() != is_and_) return a;  // false && _, true || _
  Value b = rhs_->Eval(scope);
  if (b.is_error()) return b;
  if (b.kind() != Value::Kind::kBool) return ConditionNotBool(what, b);
  return b;
}

ConditionalNode::ConditionalNode(NodePtr cond, NodePtr then, NodePtr otherwise, ExprType type, size_t offset)
    : Node(type, offset), cond_(std::move(cond)), then_(std::move(then)), otherwise_(std::move(otherwise)) {
  set_depth(DepthOf({cond_.get(), then_.get(), otherwise_.get()}));
}

Value ConditionalNode::Eval(const Scope& scope) const {
  Value c = cond_->Eval(scope);
  if (c.is_error()) return c;
  if (c.kind() != Value::Kind::kBool) return ConditionNotBool("the condition of '?:'", c);
  return c.as_bool() ? then_->Eval(scope) : otherwise_->Eval(scope);
}

CallNode::CallNode(const FunctionInfo& fn, bool as_method, std::vector<NodePtr> args,
                   std::shared_ptr<const boost::regex> pattern, size_t offset)
    : Node(fn.result, offset), fn_(fn), as_method_(as_method), args_(std::move(args)), pattern_(std::move(pattern)) {
  uint32_t d = 0;
  for (const NodePtr& arg : args_) d = std::max(d, arg->depth());
  set_depth(d + 1);
}

Value CallNode::Eval(const Scope& scope) const {
  std::array<Value, kMaxArity> storage;
  std::array<const Value*, kMaxArity> args{};
  for (size_t i = 0; i < args_.size(); ++i) {
    args[i] = &args_[i]->EvalRef(scope, storage[i]);
    if (args[i]->is_error()) return *args[i];
  }
  return CallFunction(fn_, as_method_, args.data(), scope, pattern_.get());
}

}  // namespace reach::dsl::expr
