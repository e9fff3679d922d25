#include "dsl/el_parser.h"

#include <cctype>
#include <cstdlib>

namespace reach::dsl {
namespace {

constexpr int kMaxNesting = 200;

enum class Tok : uint8_t { kEnd, kIdent, kString, kNumber, kLParen, kRParen, kComma, kDot, kSemi, kAssign, kBad };

struct Token {
  Tok kind = Tok::kEnd;
  size_t offset = 0;
  size_t end = 0;
  std::string text;  // identifier / string contents / number text / bad char
};

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  // Returns the next token; comment and whitespace skipping included. Unterminated strings and
  // comments are reported through `error`.
  Token Next(std::vector<ElSyntaxError>& errors) {
    SkipSpaceAndComments(errors);
    Token t;
    t.offset = p_;
    if (p_ >= s_.size()) {
      t.end = p_;
      return t;
    }
    char c = s_[p_];
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '$' || (c & 0x80)) {
      // Ids with other characters ('-', ':') are written node("odd-id"), as in LiteFlow.
      while (p_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[p_])) || s_[p_] == '_' ||
                                s_[p_] == '$' || (s_[p_] & 0x80)))
        ++p_;
      t.kind = Tok::kIdent;
      t.text = std::string(s_.substr(t.offset, p_ - t.offset));
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      while (p_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[p_])) || s_[p_] == '.')) {
        // "1.5" is a number; "2.foo" is not LiteFlow either, so a '.' followed by a digit only.
        if (s_[p_] == '.' && !(p_ + 1 < s_.size() && std::isdigit(static_cast<unsigned char>(s_[p_ + 1])))) break;
        ++p_;
      }
      t.kind = Tok::kNumber;
      t.text = std::string(s_.substr(t.offset, p_ - t.offset));
    } else if (c == '"' || c == '\'') {
      ++p_;
      std::string out;
      bool closed = false;
      while (p_ < s_.size()) {
        char d = s_[p_++];
        if (d == c) {
          closed = true;
          break;
        }
        if (d == '\\' && p_ < s_.size()) {
          char e = s_[p_++];
          switch (e) {
            case 'n': out += '\n'; break;
            case 't': out += '\t'; break;
            default: out += e;
          }
          continue;
        }
        out += d;
      }
      if (!closed) errors.push_back({t.offset, "unterminated string"});
      t.kind = Tok::kString;
      t.text = std::move(out);
    } else {
      ++p_;
      switch (c) {
        case '(': t.kind = Tok::kLParen; break;
        case ')': t.kind = Tok::kRParen; break;
        case ',': t.kind = Tok::kComma; break;
        case '.': t.kind = Tok::kDot; break;
        case ';': t.kind = Tok::kSemi; break;
        case '=': t.kind = Tok::kAssign; break;
        default: t.kind = Tok::kBad; t.text = std::string(1, c);
      }
    }
    t.end = p_;
    return t;
  }

 private:
  void SkipSpaceAndComments(std::vector<ElSyntaxError>& errors) {
    for (;;) {
      while (p_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[p_]))) ++p_;
      if (p_ + 1 < s_.size() && s_[p_] == '/' && s_[p_ + 1] == '*') {
        size_t close = s_.find("*/", p_ + 2);
        if (close == std::string_view::npos) {
          errors.push_back({p_, "unterminated comment"});
          p_ = s_.size();
          return;
        }
        p_ = close + 2;
      } else if (p_ + 1 < s_.size() && s_[p_] == '/' && s_[p_ + 1] == '/') {
        while (p_ < s_.size() && s_[p_] != '\n') ++p_;
      } else {
        return;
      }
    }
  }

  std::string_view s_;
  size_t p_ = 0;
};

const char* Describe(const Token& t) {
  switch (t.kind) {
    case Tok::kEnd: return "end of expression";
    case Tok::kIdent: return "a name";
    case Tok::kString: return "a string";
    case Tok::kNumber: return "a number";
    case Tok::kLParen: return "'('";
    case Tok::kRParen: return "')'";
    case Tok::kComma: return "','";
    case Tok::kDot: return "'.'";
    case Tok::kSemi: return "';'";
    case Tok::kAssign: return "'='";
    case Tok::kBad: return "an unexpected character";
  }
  return "?";
}

class Parser {
 public:
  Parser(std::string_view s, std::vector<ElSyntaxError>& errors) : lex_(s), errors_(errors) { Advance(); }

  bool ParseProgram(ElProgram& program) {
    while (tok_.kind != Tok::kEnd) {
      if (tok_.kind == Tok::kSemi) {
        Advance();
        continue;
      }
      size_t errors_before = errors_.size();
      ElStatement st;
      // `name = expr` needs one token of look-ahead past the identifier.
      if (tok_.kind == Tok::kIdent) {
        Token ident = tok_;
        Advance();
        if (tok_.kind == Tok::kAssign) {
          Advance();
          st.variable = ident.text;
          st.variable_offset = ident.offset;
          st.expr = ParseExpr(0);
        } else {
          st.expr = ParsePostfix(MakeIdentOrCall(ident, 0), 0);
        }
      } else {
        st.expr = ParseExpr(0);
      }
      if (errors_.size() == errors_before && tok_.kind != Tok::kSemi && tok_.kind != Tok::kEnd) {
        if (tok_.kind == Tok::kRParen) Error(tok_.offset, "unbalanced parentheses: ')' without '('");
        else Error(tok_.offset, std::string("expected ';' or end of expression, found ") + Describe(tok_));
      }
      if (errors_.size() != errors_before) {
        // Resynchronise at the next statement.
        while (tok_.kind != Tok::kSemi && tok_.kind != Tok::kEnd) Advance();
      } else if (st.expr) {
        program.statements.push_back(std::move(st));
      }
    }
    if (program.statements.empty() && errors_.empty()) Error(0, "empty expression");
    return errors_.empty();
  }

 private:
  void Advance() { tok_ = lex_.Next(errors_); }
  void Error(size_t offset, std::string msg) { errors_.push_back({offset, std::move(msg)}); }

  std::unique_ptr<ElExpr> ParseExpr(int depth) {
    if (depth > kMaxNesting) {
      Error(tok_.offset, "expression nested too deeply");
      return nullptr;
    }
    std::unique_ptr<ElExpr> e;
    Token t = tok_;
    switch (t.kind) {
      case Tok::kIdent:
        Advance();
        e = MakeIdentOrCall(t, depth);
        break;
      case Tok::kString:
        Advance();
        e = std::make_unique<ElExpr>();
        e->kind = ElExpr::Kind::kString;
        e->text = t.text;
        e->offset = t.offset;
        e->end = t.end;
        break;
      case Tok::kNumber: {
        Advance();
        e = std::make_unique<ElExpr>();
        e->kind = ElExpr::Kind::kNumber;
        e->text = t.text;
        e->number = std::strtod(t.text.c_str(), nullptr);
        e->integral = t.text.find('.') == std::string::npos;
        e->offset = t.offset;
        e->end = t.end;
        break;
      }
      case Tok::kLParen: {
        // A parenthesised expression: (a) is a.
        Advance();
        e = ParseExpr(depth + 1);
        if (!e) return nullptr;
        if (tok_.kind != Tok::kRParen) {
          Error(tok_.offset, std::string("unbalanced parentheses: expected ')', found ") + Describe(tok_));
          return nullptr;
        }
        Advance();
        break;
      }
      case Tok::kRParen:
        Error(t.offset, "unbalanced parentheses: ')' without '('");
        return nullptr;
      case Tok::kEnd:
        Error(t.offset, "unexpected end of expression");
        return nullptr;
      default:
        Error(t.offset, std::string("unexpected ") + Describe(t) + (t.kind == Tok::kBad ? " '" + t.text + "'" : ""));
        return nullptr;
    }
    if (!e) return nullptr;
    return ParsePostfix(std::move(e), depth);
  }

  std::unique_ptr<ElExpr> MakeIdentOrCall(const Token& ident, int depth) {
    auto e = std::make_unique<ElExpr>();
    e->offset = ident.offset;
    e->end = ident.end;
    e->text = ident.text;
    if (ident.text == "true" || ident.text == "false") {
      e->kind = ElExpr::Kind::kBool;
      e->boolean = ident.text == "true";
      return e;
    }
    if (tok_.kind == Tok::kLParen) {
      e->kind = ElExpr::Kind::kCall;
      if (!ParseArgs(*e, depth)) return nullptr;
      return e;
    }
    e->kind = ElExpr::Kind::kIdent;
    return e;
  }

  // At '(' : parses `(arg, ...)` into e.args.
  bool ParseArgs(ElExpr& e, int depth) {
    size_t open = tok_.offset;
    Advance();
    if (tok_.kind == Tok::kRParen) {
      e.end = tok_.end;
      Advance();
      return true;
    }
    for (;;) {
      auto arg = ParseExpr(depth + 1);
      if (!arg) return false;
      e.args.push_back(std::move(arg));
      if (tok_.kind == Tok::kComma) {
        Advance();
        if (tok_.kind == Tok::kRParen) {
          Error(tok_.offset, "expected an argument after ','");
          return false;
        }
        continue;
      }
      if (tok_.kind == Tok::kRParen) {
        e.end = tok_.end;
        Advance();
        return true;
      }
      if (tok_.kind == Tok::kEnd || tok_.kind == Tok::kSemi)
        Error(open, "unbalanced parentheses: '(' is never closed");
      else
        Error(tok_.offset, std::string("expected ',' or ')', found ") + Describe(tok_));
      return false;
    }
  }

  std::unique_ptr<ElExpr> ParsePostfix(std::unique_ptr<ElExpr> e, int depth) {
    while (e && tok_.kind == Tok::kDot) {
      Advance();
      if (tok_.kind != Tok::kIdent) {
        Error(tok_.offset, std::string("expected a method name after '.', found ") + Describe(tok_));
        return nullptr;
      }
      auto m = std::make_unique<ElExpr>();
      m->kind = ElExpr::Kind::kMethod;
      m->text = tok_.text;
      m->offset = tok_.offset;
      m->end = tok_.end;
      Advance();
      if (tok_.kind != Tok::kLParen) {
        Error(tok_.offset, "expected '(' after method '" + m->text + "'");
        return nullptr;
      }
      m->receiver = std::move(e);
      if (!ParseArgs(*m, depth)) return nullptr;
      e = std::move(m);
    }
    return e;
  }

  Lexer lex_;
  Token tok_;
  std::vector<ElSyntaxError>& errors_;
};

}  // namespace

bool ParseEl(std::string_view source, ElProgram& program, std::vector<ElSyntaxError>& errors) {
  size_t before = errors.size();
  Parser p(source, errors);
  p.ParseProgram(program);
  return errors.size() == before;
}

}  // namespace reach::dsl
