#pragma once
// The operators of the expression language: their static typing rules (used by the checker)
// and their run-time meaning (used by evaluation and by constant folding). Keeping both here
// keeps the two in step: whatever the checker accepts for known types, ApplyBinary defines.

#include <cstdint>
#include <optional>
#include <string_view>

#include "dsl/expression.h"
#include "dsl/value.h"

namespace reach::dsl::expr {

enum class UnaryOp : uint8_t { kNot, kNegate };
enum class BinaryOp : uint8_t { kOr, kAnd, kEq, kNe, kLt, kLe, kGt, kGe, kIn, kAdd, kSub, kMul, kDiv, kMod };

std::string_view OpSymbol(UnaryOp op);
std::string_view OpSymbol(BinaryOp op);

// The static type a value of this kind has (kError maps to kAny).
ExprType TypeOfKind(Value::Kind kind);

// The result type of `op operand`, or nullopt when the operator is not defined for it.
// kAny operands are accepted; the result is as precise as the known operands allow.
std::optional<ExprType> UnaryResultType(UnaryOp op, ExprType operand);
std::optional<ExprType> BinaryResultType(BinaryOp op, ExprType lhs, ExprType rhs);

// Run-time meaning. Operands are never errors (callers propagate those first); a type mismatch,
// an ordering with null, a division by zero or an overflow yields Value::Error. `&&` and `||`
// are not here: they short-circuit, so their nodes evaluate them.
Value ApplyUnary(UnaryOp op, const Value& operand);
Value ApplyBinary(BinaryOp op, const Value& lhs, const Value& rhs);

// `item in container`: element of a list, substring of a string, key of a map.
Value EvalIn(const Value& item, const Value& container);

}  // namespace reach::dsl::expr
