#pragma once
// The syntax of the expression language (docs/expressions.md has it in EBNF), parsed by
// recursive descent with precedence climbing. The parser hands every construct to the Checker,
// which builds and type-checks the node.
//
// Error recovery: after a syntax error the parser skips to a point where parsing can sensibly
// go on (a comma, a closing bracket, an operator) and keeps quiet until it has read a good
// operand again, so that one typo gives one message, while independent mistakes elsewhere in the
// expression are still all reported.

#include <string_view>
#include <vector>

#include "dsl/expr_checker.h"
#include "dsl/expr_lexer.h"

namespace reach::dsl::expr {

class Parser {
 public:
  // Brackets, unary operators and conditionals nested deeper than this are rejected, which
  // bounds the parser's own recursion.
  static constexpr int kMaxNesting = 100;

  Parser(std::string_view source, std::vector<Token> tokens, Checker& checker, std::vector<ExprError>& errors);

  // Parses the whole token list; the result is an InvalidNode (or contains some) when errors
  // were reported.
  NodePtr Parse();

 private:
  const Token& Cur() const { return tokens_[pos_]; }
  bool At(TokenKind kind) const { return tokens_[pos_].kind == kind; }
  bool NextIs(TokenKind kind) const { return pos_ + 1 < tokens_.size() && tokens_[pos_ + 1].kind == kind; }
  void Advance() {
    if (!At(TokenKind::kEnd)) ++pos_;
  }
  void SyntaxError(size_t offset, std::string message);
  // Counts one level of nesting opened at `offset`; false (and everything left skipped) when
  // too deep.
  bool Enter(size_t offset);
  void Leave() { --nesting_; }

  NodePtr ParseConditional();
  NodePtr ParseBinary(int min_precedence);
  NodePtr ParseUnary();
  NodePtr ParsePostfix(NodePtr base);
  NodePtr ParsePrimary();
  // The items of a list or argument list, after its opening token, up to and including `close`.
  std::vector<NodePtr> ParseItems(TokenKind close, size_t open_offset);
  // Consumes `close`; otherwise reports it, skips to it and returns false.
  bool ExpectClose(TokenKind close, size_t open_offset, std::string_view expected);
  // Skips a bad operand up to a token parsing can go on from.
  void SkipToSync();

  std::string_view source_;
  std::vector<Token> tokens_;
  Checker& checker_;
  std::vector<ExprError>& errors_;
  size_t pos_ = 0;
  int nesting_ = 0;
  bool quiet_ = false;    // a syntax error was reported and no good operand read since
  bool aborted_ = false;  // nested too deeply: nothing more is parsed or reported
};

}  // namespace reach::dsl::expr
