#include "dsl/expr_ops.h"

#include <cmath>
#include <string>
#include <vector>

namespace reach::dsl::expr {

namespace {

using K = Value::Kind;
using T = ExprType;

bool IsOrderable(T t) { return t == T::kNumber || t == T::kString || t == T::kTimestamp || t == T::kDuration; }

Value Mismatch(BinaryOp op, const Value& a, const Value& b) {
  std::string message = "operator '" + std::string(OpSymbol(op)) + "' is not defined for " +
                        std::string(KindName(a.kind())) + " and " + std::string(KindName(b.kind()));
  bool a_time = a.kind() == K::kTimestamp || a.kind() == K::kDuration;
  bool b_time = b.kind() == K::kTimestamp || b.kind() == K::kDuration;
  if ((a.kind() == K::kString && b_time) || (b.kind() == K::kString && a_time)) {
    message += "; convert the string with timestamp(...) or duration(...)";
  }
  return Value::Error(std::move(message));
}

Value Millis(K kind, int64_t a, int64_t b, bool subtract) {
  int64_t out = 0;
  bool overflow = subtract ? __builtin_sub_overflow(a, b, &out) : __builtin_add_overflow(a, b, &out);
  if (overflow) return Value::Error(kind == K::kTimestamp ? "timestamp out of range" : "duration out of range");
  return kind == K::kTimestamp ? Value::Timestamp(out) : Value::Duration(out);
}

// -1, 0, 1; nullopt when the two values have no order between them.
std::optional<int> Compare(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return std::nullopt;
  switch (a.kind()) {
    case K::kNumber: {
      double x = a.as_number(), y = b.as_number();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    case K::kString: {
      int c = a.as_string().compare(b.as_string());
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    case K::kTimestamp:
    case K::kDuration: {
      int64_t x = a.as_millis(), y = b.as_millis();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    default: return std::nullopt;
  }
}

Value Concat(const Value& a, const Value& b) {
  if (a.kind() == K::kString) {
    std::string s;
    s.reserve(a.size() + b.size());
    s += a.as_string();
    s += b.as_string();
    return Value::OwnString(std::move(s));
  }
  std::vector<Value> items;
  items.reserve(a.size() + b.size());
  for (size_t i = 0; i < a.size(); ++i) items.push_back(a.list_item(i));
  for (size_t i = 0; i < b.size(); ++i) items.push_back(b.list_item(i));
  return Value::OwnList(std::move(items));
}

}  // namespace

std::string_view OpSymbol(UnaryOp op) { return op == UnaryOp::kNot ? "!" : "-"; }

std::string_view OpSymbol(BinaryOp op) {
  switch (op) {
    case BinaryOp::kOr: return "||";
    case BinaryOp::kAnd: return "&&";
    case BinaryOp::kEq: return "==";
    case BinaryOp::kNe: return "!=";
    case BinaryOp::kLt: return "<";
    case BinaryOp::kLe: return "<=";
    case BinaryOp::kGt: return ">";
    case BinaryOp::kGe: return ">=";
    case BinaryOp::kIn: return "in";
    case BinaryOp::kAdd: return "+";
    case BinaryOp::kSub: return "-";
    case BinaryOp::kMul: return "*";
    case BinaryOp::kDiv: return "/";
    case BinaryOp::kMod: return "%";
  }
  return "?";
}

ExprType TypeOfKind(Value::Kind kind) {
  switch (kind) {
    case K::kNull: return T::kNull;
    case K::kBool: return T::kBool;
    case K::kNumber: return T::kNumber;
    case K::kString: return T::kString;
    case K::kList: return T::kList;
    case K::kMap: return T::kMap;
    case K::kTimestamp: return T::kTimestamp;
    case K::kDuration: return T::kDuration;
    case K::kError: return T::kAny;
  }
  return T::kAny;
}

std::optional<ExprType> UnaryResultType(UnaryOp op, ExprType t) {
  if (op == UnaryOp::kNot) {
    if (t == T::kBool || t == T::kAny) return T::kBool;
    return std::nullopt;
  }
  if (t == T::kNumber || t == T::kDuration || t == T::kAny) return t;
  return std::nullopt;
}

std::optional<ExprType> BinaryResultType(BinaryOp op, ExprType l, ExprType r) {
  const bool l_any = l == T::kAny, r_any = r == T::kAny;
  switch (op) {
    case BinaryOp::kOr:
    case BinaryOp::kAnd:
      if ((l == T::kBool || l_any) && (r == T::kBool || r_any)) return T::kBool;
      return std::nullopt;
    case BinaryOp::kEq:
    case BinaryOp::kNe:
      // Two different known types are never equal: almost certainly a mistake. null compares
      // with anything (a missing field is null).
      if (!l_any && !r_any && l != r && l != T::kNull && r != T::kNull) return std::nullopt;
      return T::kBool;
    case BinaryOp::kLt:
    case BinaryOp::kLe:
    case BinaryOp::kGt:
    case BinaryOp::kGe:
      if (!l_any && !IsOrderable(l)) return std::nullopt;
      if (!r_any && !IsOrderable(r)) return std::nullopt;
      if (!l_any && !r_any && l != r) return std::nullopt;
      return T::kBool;
    case BinaryOp::kIn:
      if (r_any || r == T::kList) return T::kBool;
      if ((r == T::kString || r == T::kMap) && (l_any || l == T::kString)) return T::kBool;
      return std::nullopt;
    case BinaryOp::kAdd:
      if (l_any && r_any) return T::kAny;
      if (l_any || r_any) {
        T known = l_any ? r : l;
        if (known == T::kNumber || known == T::kString || known == T::kList || known == T::kTimestamp) return known;
        if (known == T::kDuration) return T::kAny;  // duration + duration, or + timestamp
        return std::nullopt;
      }
      if (l == r && (l == T::kNumber || l == T::kString || l == T::kList || l == T::kDuration)) return l;
      if ((l == T::kTimestamp && r == T::kDuration) || (l == T::kDuration && r == T::kTimestamp)) return T::kTimestamp;
      return std::nullopt;
    case BinaryOp::kSub:
      if (l_any && r_any) return T::kAny;
      if (l_any) {
        if (r == T::kNumber) return T::kNumber;
        if (r == T::kDuration) return T::kAny;        // timestamp - duration or duration - duration
        if (r == T::kTimestamp) return T::kDuration;  // timestamp - timestamp
        return std::nullopt;
      }
      if (r_any) {
        if (l == T::kNumber) return T::kNumber;
        if (l == T::kTimestamp) return T::kAny;
        if (l == T::kDuration) return T::kDuration;
        return std::nullopt;
      }
      if (l == T::kNumber && r == T::kNumber) return T::kNumber;
      if (l == T::kTimestamp && r == T::kDuration) return T::kTimestamp;
      if (l == T::kTimestamp && r == T::kTimestamp) return T::kDuration;
      if (l == T::kDuration && r == T::kDuration) return T::kDuration;
      return std::nullopt;
    case BinaryOp::kMul:
    case BinaryOp::kDiv:
    case BinaryOp::kMod:
      if ((l == T::kNumber || l_any) && (r == T::kNumber || r_any)) return T::kNumber;
      return std::nullopt;
  }
  return std::nullopt;
}

Value ApplyUnary(UnaryOp op, const Value& v) {
  if (op == UnaryOp::kNot) {
    if (v.kind() == K::kBool) return Value::Bool(!v.as_bool());
  } else if (v.kind() == K::kNumber) {
    return Value::Number(-v.as_number());
  } else if (v.kind() == K::kDuration) {
    if (v.as_millis() == INT64_MIN) return Value::Error("duration out of range");
    return Value::Duration(-v.as_millis());
  }
  return Value::Error("operator '" + std::string(OpSymbol(op)) + "' is not defined for " +
                      std::string(KindName(v.kind())));
}

Value EvalIn(const Value& item, const Value& container) {
  switch (container.kind()) {
    case K::kList: return Value::Bool(container.list_contains(item));
    case K::kString:
      if (item.kind() != K::kString) break;
      return Value::Bool(container.as_string().find(item.as_string()) != std::string_view::npos);
    case K::kMap:
      if (item.kind() != K::kString) break;
      return Value::Bool(container.map_contains(item.as_string()));
    default: break;
  }
  return Mismatch(BinaryOp::kIn, item, container);
}

Value ApplyBinary(BinaryOp op, const Value& a, const Value& b) {
  const K ka = a.kind(), kb = b.kind();
  const bool numbers = ka == K::kNumber && kb == K::kNumber;
  switch (op) {
    case BinaryOp::kEq: return Value::Bool(a == b);
    case BinaryOp::kNe: return Value::Bool(!(a == b));
    case BinaryOp::kLt:
    case BinaryOp::kLe:
    case BinaryOp::kGt:
    case BinaryOp::kGe: {
      std::optional<int> c = Compare(a, b);
      if (!c) return Mismatch(op, a, b);
      if (op == BinaryOp::kLt) return Value::Bool(*c < 0);
      if (op == BinaryOp::kLe) return Value::Bool(*c <= 0);
      if (op == BinaryOp::kGt) return Value::Bool(*c > 0);
      return Value::Bool(*c >= 0);
    }
    case BinaryOp::kIn: return EvalIn(a, b);
    case BinaryOp::kAdd:
      if (numbers) return Value::Number(a.as_number() + b.as_number());
      if (ka == kb && (ka == K::kString || ka == K::kList)) return Concat(a, b);
      if (ka == K::kTimestamp && kb == K::kDuration) return Millis(K::kTimestamp, a.as_millis(), b.as_millis(), false);
      if (ka == K::kDuration && kb == K::kTimestamp) return Millis(K::kTimestamp, a.as_millis(), b.as_millis(), false);
      if (ka == K::kDuration && kb == K::kDuration) return Millis(K::kDuration, a.as_millis(), b.as_millis(), false);
      return Mismatch(op, a, b);
    case BinaryOp::kSub:
      if (numbers) return Value::Number(a.as_number() - b.as_number());
      if (ka == K::kTimestamp && kb == K::kDuration) return Millis(K::kTimestamp, a.as_millis(), b.as_millis(), true);
      if (ka == K::kTimestamp && kb == K::kTimestamp) return Millis(K::kDuration, a.as_millis(), b.as_millis(), true);
      if (ka == K::kDuration && kb == K::kDuration) return Millis(K::kDuration, a.as_millis(), b.as_millis(), true);
      return Mismatch(op, a, b);
    case BinaryOp::kMul:
      if (numbers) return Value::Number(a.as_number() * b.as_number());
      return Mismatch(op, a, b);
    case BinaryOp::kDiv:
      if (!numbers) return Mismatch(op, a, b);
      if (b.as_number() == 0) return Value::Error("division by zero");
      return Value::Number(a.as_number() / b.as_number());
    case BinaryOp::kMod:
      if (!numbers) return Mismatch(op, a, b);
      if (b.as_number() == 0) return Value::Error("modulo by zero");
      return Value::Number(std::fmod(a.as_number(), b.as_number()));
    case BinaryOp::kOr:
    case BinaryOp::kAnd:
      // Reached only through constant folding of non-short-circuit paths; same meaning.
      if (ka != K::kBool || kb != K::kBool) return Mismatch(op, a, b);
      return Value::Bool(op == BinaryOp::kAnd ? (a.as_bool() && b.as_bool()) : (a.as_bool() || b.as_bool()));
  }
  return Mismatch(op, a, b);
}

}  // namespace reach::dsl::expr
