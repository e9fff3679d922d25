#pragma once
// Tokens of the expression language. The lexer never stops at the first problem: it reports
// each lexical error (unterminated string, bad escape, stray character) and goes on with a
// best-guess token, so that the parser and checker can still report the errors after it.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/expression.h"

namespace reach::dsl::expr {

enum class TokenKind : uint8_t {
  kEnd,
  kNumber,
  kString,
  kIdent,
  kTrue,
  kFalse,
  kNull,
  kIn,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kComma,
  kDot,
  kQuestion,
  kColon,
  kNot,
  kMinus,
  kPlus,
  kStar,
  kSlash,
  kPercent,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kAnd,
  kOr,
  kBad,  // a character the language does not use (already reported); the parser skips it
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  size_t offset = 0;   // first byte in the source
  size_t length = 0;   // bytes in the source
  std::string text;    // kIdent: the name; kString: the decoded value
  double number = 0;   // kNumber
};

// Splits `source` into tokens, always ending with one kEnd token (at source.size()).
// Lexical errors are appended to `errors`.
std::vector<Token> Lex(std::string_view source, std::vector<ExprError>& errors);

// How a token is named in messages: "')'", "identifier 'usr'", "number 12",
// "string \"abc\"", "end of expression".
std::string DescribeToken(const Token& token, std::string_view source);

}  // namespace reach::dsl::expr
