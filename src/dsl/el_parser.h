#pragma once
// The syntax of LiteFlow's EL (the `value:` of a chain): statements separated by `;`, each an
// optional `name =` assignment and an expression made of identifiers, string / number / boolean
// literals, calls `F(args)` and method calls `x.m(args)`. Comments are `/* ... */` (LiteFlow's
// `/** ... **/` is a case of it) and `// ...` to the end of the line.
//
// This parser knows the shape only; what THEN, IF, .retry() ... mean, and which calls are
// allowed where, is the compiler's business (flow_compiler.cc).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace reach::dsl {

struct ElExpr {
  enum class Kind : uint8_t { kIdent, kString, kNumber, kBool, kCall, kMethod };
  Kind kind = Kind::kIdent;
  std::string text;            // identifier, function / method name, or string contents
  double number = 0;           // kNumber
  bool boolean = false;        // kBool
  bool integral = false;       // kNumber written without a fraction
  size_t offset = 0;           // where the token (identifier, name, literal) starts in the EL
  size_t end = 0;              // one past the last byte of the whole expression
  std::unique_ptr<ElExpr> receiver;        // kMethod: what the method is called on
  std::vector<std::unique_ptr<ElExpr>> args;  // kCall / kMethod
};

struct ElStatement {
  std::string variable;        // empty: a plain expression
  size_t variable_offset = 0;
  std::unique_ptr<ElExpr> expr;
};

struct ElSyntaxError {
  size_t offset = 0;
  std::string message;
};

struct ElProgram {
  std::vector<ElStatement> statements;
};

// Parses `source`. Returns false and fills `errors` (at least one) when it is not well formed;
// after an error the parser skips to the next `;` and goes on, so several errors can be found.
bool ParseEl(std::string_view source, ElProgram& program, std::vector<ElSyntaxError>& errors);

}  // namespace reach::dsl
