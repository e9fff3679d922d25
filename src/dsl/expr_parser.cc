#include "dsl/expr_parser.h"

#include <optional>

namespace reach::dsl::expr {

namespace {

struct BinaryInfo {
  BinaryOp op;
  int precedence;  // higher binds tighter
};

std::optional<BinaryInfo> BinaryOf(TokenKind kind) {
  switch (kind) {
    case TokenKind::kOr: return BinaryInfo{BinaryOp::kOr, 1};
    case TokenKind::kAnd: return BinaryInfo{BinaryOp::kAnd, 2};
    case TokenKind::kEq: return BinaryInfo{BinaryOp::kEq, 3};
    case TokenKind::kNe: return BinaryInfo{BinaryOp::kNe, 3};
    case TokenKind::kLt: return BinaryInfo{BinaryOp::kLt, 4};
    case TokenKind::kLe: return BinaryInfo{BinaryOp::kLe, 4};
    case TokenKind::kGt: return BinaryInfo{BinaryOp::kGt, 4};
    case TokenKind::kGe: return BinaryInfo{BinaryOp::kGe, 4};
    case TokenKind::kIn: return BinaryInfo{BinaryOp::kIn, 5};
    case TokenKind::kPlus: return BinaryInfo{BinaryOp::kAdd, 6};
    case TokenKind::kMinus: return BinaryInfo{BinaryOp::kSub, 6};
    case TokenKind::kStar: return BinaryInfo{BinaryOp::kMul, 7};
    case TokenKind::kSlash: return BinaryInfo{BinaryOp::kDiv, 7};
    case TokenKind::kPercent: return BinaryInfo{BinaryOp::kMod, 7};
    default: return std::nullopt;
  }
}

bool IsOpener(TokenKind k) { return k == TokenKind::kLParen || k == TokenKind::kLBracket; }
bool IsCloser(TokenKind k) { return k == TokenKind::kRParen || k == TokenKind::kRBracket; }

// A name after '.': keywords are fine there (`event.properties.in`).
bool IsFieldName(TokenKind k) {
  return k == TokenKind::kIdent || k == TokenKind::kTrue || k == TokenKind::kFalse || k == TokenKind::kNull ||
         k == TokenKind::kIn;
}

std::string UnbalancedMessage(TokenKind closer) {
  return closer == TokenKind::kRParen ? "unbalanced parentheses: unexpected ')'"
                                      : "unbalanced brackets: unexpected ']'";
}

}  // namespace

Parser::Parser(std::string_view source, std::vector<Token> tokens, Checker& checker, std::vector<ExprError>& errors)
    : source_(source), tokens_(std::move(tokens)), checker_(checker), errors_(errors) {}

void Parser::SyntaxError(size_t offset, std::string message) {
  if (quiet_ || aborted_) return;
  errors_.push_back({offset, std::move(message)});
  quiet_ = true;
}

bool Parser::Enter(size_t offset) {
  if (++nesting_ <= kMaxNesting) return true;
  if (!aborted_) errors_.push_back({offset, "expression nested too deeply"});
  aborted_ = true;
  pos_ = tokens_.size() - 1;  // the end token
  return false;
}

NodePtr Parser::Parse() {
  NodePtr root = ParseConditional();
  if (!At(TokenKind::kEnd)) {
    if (IsCloser(Cur().kind)) SyntaxError(Cur().offset, UnbalancedMessage(Cur().kind));
    else SyntaxError(Cur().offset, "expected an operator, found " + DescribeToken(Cur(), source_));
  }
  return root;
}

// conditional = or_expr [ "?" conditional ":" conditional ]
NodePtr Parser::ParseConditional() {
  NodePtr cond = ParseBinary(1);
  if (!At(TokenKind::kQuestion)) return cond;
  size_t question = Cur().offset;
  Advance();
  if (!Enter(question)) return checker_.Invalid(question);
  NodePtr then = ParseConditional();
  NodePtr result;
  if (!At(TokenKind::kColon)) {
    SyntaxError(Cur().offset, "expected ':' after the '?' branch, found " + DescribeToken(Cur(), source_));
    result = checker_.Invalid(cond->offset());
  } else {
    Advance();
    NodePtr otherwise = ParseConditional();
    result = checker_.Conditional(std::move(cond), question, std::move(then), std::move(otherwise));
  }
  Leave();
  return result;
}

NodePtr Parser::ParseBinary(int min_precedence) {
  NodePtr lhs = ParseUnary();
  while (At(TokenKind::kBad)) {
    // A stray character between operands (`a # b`), reported by the lexer: most likely a
    // mistyped operator, so read what follows as its right operand and say nothing more.
    Advance();
    if (At(TokenKind::kEnd)) break;
    ParseBinary(8);
    lhs = checker_.Invalid(lhs->offset());
  }
  while (std::optional<BinaryInfo> info = BinaryOf(Cur().kind)) {
    if (info->precedence < min_precedence) break;
    size_t op_offset = Cur().offset;
    Advance();
    NodePtr rhs = ParseBinary(info->precedence + 1);  // left associative
    lhs = checker_.Binary(info->op, op_offset, std::move(lhs), std::move(rhs));
  }
  return lhs;
}

// unary = ( "!" | "-" ) unary | postfix
NodePtr Parser::ParseUnary() {
  if (!At(TokenKind::kNot) && !At(TokenKind::kMinus)) return ParsePostfix(ParsePrimary());
  UnaryOp op = At(TokenKind::kNot) ? UnaryOp::kNot : UnaryOp::kNegate;
  size_t op_offset = Cur().offset;
  Advance();
  if (!Enter(op_offset)) return checker_.Invalid(op_offset);
  NodePtr operand = ParseUnary();
  Leave();
  return checker_.Unary(op, op_offset, std::move(operand));
}

// postfix = primary { "." name [ "(" [ args ] ")" ] | "[" conditional "]" }
NodePtr Parser::ParsePostfix(NodePtr base) {
  while (true) {
    if (At(TokenKind::kDot)) {
      size_t dot = Cur().offset;
      Advance();
      if (!IsFieldName(Cur().kind)) {
        SyntaxError(Cur().offset, "expected a field or method name after '.', found " + DescribeToken(Cur(), source_));
        return checker_.Invalid(base->offset());
      }
      std::string name = Cur().text;
      size_t name_offset = Cur().offset;
      Advance();
      if (At(TokenKind::kLParen)) {
        size_t open = Cur().offset;
        Advance();
        if (!Enter(open)) return checker_.Invalid(base->offset());
        std::vector<NodePtr> args = ParseItems(TokenKind::kRParen, open);
        Leave();
        base = checker_.Call(name, name_offset, std::move(base), std::move(args));
      } else {
        base = checker_.Select(std::move(base), std::move(name), dot);
      }
    } else if (At(TokenKind::kLBracket)) {
      size_t open = Cur().offset;
      Advance();
      if (!Enter(open)) return checker_.Invalid(base->offset());
      NodePtr index = ParseConditional();
      ExpectClose(TokenKind::kRBracket, open, "']'");
      Leave();
      base = checker_.Index(std::move(base), std::move(index), open);
    } else {
      return base;
    }
  }
}

NodePtr Parser::ParsePrimary() {
  while (At(TokenKind::kBad)) Advance();  // already reported by the lexer
  const Token& t = Cur();
  size_t offset = t.offset;
  switch (t.kind) {
    case TokenKind::kNumber:
      quiet_ = false;
      Advance();
      return checker_.Literal(Value::Number(t.number), offset);
    case TokenKind::kString: {
      quiet_ = false;
      Value v = Value::OwnString(t.text);
      Advance();
      return checker_.Literal(std::move(v), offset);
    }
    case TokenKind::kTrue:
    case TokenKind::kFalse:
      quiet_ = false;
      Advance();
      return checker_.Literal(Value::Bool(t.kind == TokenKind::kTrue), offset);
    case TokenKind::kNull:
      quiet_ = false;
      Advance();
      return checker_.Literal(Value::Null(), offset);
    case TokenKind::kIdent: {
      quiet_ = false;
      std::string name = t.text;
      Advance();
      if (!At(TokenKind::kLParen)) return checker_.Name(name, offset);
      size_t open = Cur().offset;
      Advance();
      if (!Enter(open)) return checker_.Invalid(offset);
      std::vector<NodePtr> args = ParseItems(TokenKind::kRParen, open);
      Leave();
      return checker_.Call(name, offset, nullptr, std::move(args));
    }
    case TokenKind::kLParen: {
      Advance();
      if (!Enter(offset)) return checker_.Invalid(offset);
      NodePtr inner = ParseConditional();
      ExpectClose(TokenKind::kRParen, offset, "')'");
      Leave();
      return inner;
    }
    case TokenKind::kLBracket: {
      Advance();
      if (!Enter(offset)) return checker_.Invalid(offset);
      std::vector<NodePtr> items = ParseItems(TokenKind::kRBracket, offset);
      Leave();
      return checker_.List(std::move(items), offset);
    }
    case TokenKind::kEnd:
      SyntaxError(offset, "unexpected end of expression");
      return checker_.Invalid(offset);
    default:
      SyntaxError(offset, "expected an expression, found " + DescribeToken(t, source_));
      SkipToSync();
      return checker_.Invalid(offset);
  }
}

// items = [ conditional { "," conditional } ] close
std::vector<NodePtr> Parser::ParseItems(TokenKind close, size_t open_offset) {
  std::vector<NodePtr> items;
  if (At(close)) {
    Advance();
    return items;
  }
  while (true) {
    items.push_back(ParseConditional());
    if (!At(TokenKind::kComma)) break;
    Advance();
  }
  size_t problem_at = Cur().offset;
  if (!ExpectClose(close, open_offset, close == TokenKind::kRParen ? "',' or ')'" : "',' or ']'")) {
    // Items were skipped: mark the list as incomplete so that nobody counts its items.
    items.push_back(checker_.Invalid(problem_at));
  }
  return items;
}

bool Parser::ExpectClose(TokenKind close, size_t open_offset, std::string_view expected) {
  if (At(close)) {
    Advance();
    return true;
  }
  if (At(TokenKind::kEnd)) {
    SyntaxError(open_offset, close == TokenKind::kRParen ? "unbalanced parentheses: '(' is never closed"
                                                         : "unbalanced brackets: '[' is never closed");
    return false;
  }
  SyntaxError(Cur().offset, "expected " + std::string(expected) + ", found " + DescribeToken(Cur(), source_));
  // Skip to our closer; stop at a closer that belongs to an enclosing bracket.
  int depth = 0;
  while (!At(TokenKind::kEnd)) {
    TokenKind k = Cur().kind;
    if (IsOpener(k)) {
      ++depth;
    } else if (IsCloser(k)) {
      if (depth == 0) {
        if (k == close) Advance();
        return false;
      }
      --depth;
    }
    Advance();
  }
  return false;
}

void Parser::SkipToSync() {
  int depth = 0;
  while (!At(TokenKind::kEnd)) {
    TokenKind k = Cur().kind;
    if (depth == 0 && (k == TokenKind::kComma || IsCloser(k) || k == TokenKind::kColon ||
                       k == TokenKind::kQuestion || BinaryOf(k))) {
      return;
    }
    if (IsOpener(k)) ++depth;
    if (IsCloser(k)) --depth;
    Advance();
  }
}

}  // namespace reach::dsl::expr
