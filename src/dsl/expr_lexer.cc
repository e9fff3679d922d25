#include "dsl/expr_lexer.h"

#include <charconv>

#include "common/time_util.h"

namespace reach::dsl::expr {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c); }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Length of the UTF-8 sequence that starts with `lead` (1 for anything malformed).
size_t Utf8Length(unsigned char lead) {
  if (lead >= 0xF0 && lead < 0xF8) return 4;
  if (lead >= 0xE0) return lead < 0xF0 ? 3 : 1;
  if (lead >= 0xC0) return 2;
  return 1;
}

class Lexer {
 public:
  Lexer(std::string_view source, std::vector<ExprError>& errors) : src_(source), errors_(errors) {}

  std::vector<Token> Run() {
    std::vector<Token> tokens;
    while (true) {
      SkipSpace();
      if (pos_ >= src_.size()) break;
      Token t;
      t.offset = pos_;
      if (Next(t)) {
        t.length = pos_ - t.offset;
        tokens.push_back(std::move(t));
      }
    }
    Token end;
    end.offset = src_.size();
    tokens.push_back(std::move(end));
    return tokens;
  }

 private:
  void Error(size_t offset, std::string message) { errors_.push_back({offset, std::move(message)}); }

  void SkipSpace() {
    while (pos_ < src_.size() &&
           (src_[pos_] == ' ' || src_[pos_] == '\t' || src_[pos_] == '\n' || src_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Peek(char c, size_t ahead = 0) const {
    return pos_ + ahead < src_.size() && src_[pos_ + ahead] == c;
  }

  // Fills `t` from the text at pos_; false when nothing usable was there (already reported).
  bool Next(Token& t) {
    char c = src_[pos_];
    if ((c == 'r' || c == 'R') && (Peek('"', 1) || Peek('\'', 1))) {
      ++pos_;
      return String(t, /*raw=*/true);
    }
    if (IsIdentStart(c)) return Identifier(t);
    if (IsDigit(c)) return Number(t);
    if (c == '"' || c == '\'') return String(t, /*raw=*/false);
    ++pos_;
    switch (c) {
      case '(': t.kind = TokenKind::kLParen; return true;
      case ')': t.kind = TokenKind::kRParen; return true;
      case '[': t.kind = TokenKind::kLBracket; return true;
      case ']': t.kind = TokenKind::kRBracket; return true;
      case ',': t.kind = TokenKind::kComma; return true;
      case '.': t.kind = TokenKind::kDot; return true;
      case '?': t.kind = TokenKind::kQuestion; return true;
      case ':': t.kind = TokenKind::kColon; return true;
      case '+': t.kind = TokenKind::kPlus; return true;
      case '-': t.kind = TokenKind::kMinus; return true;
      case '*': t.kind = TokenKind::kStar; return true;
      case '/': t.kind = TokenKind::kSlash; return true;
      case '%': t.kind = TokenKind::kPercent; return true;
      case '!': t.kind = Accept('=') ? TokenKind::kNe : TokenKind::kNot; return true;
      case '<': t.kind = Accept('=') ? TokenKind::kLe : TokenKind::kLt; return true;
      case '>': t.kind = Accept('=') ? TokenKind::kGe : TokenKind::kGt; return true;
      case '=':
        t.kind = TokenKind::kEq;
        if (!Accept('=')) Error(t.offset, "unexpected '='; use '==' to compare");
        return true;
      case '&':
        t.kind = TokenKind::kAnd;
        if (!Accept('&')) Error(t.offset, "unexpected '&'; use '&&' for a logical and");
        return true;
      case '|':
        t.kind = TokenKind::kOr;
        if (!Accept('|')) Error(t.offset, "unexpected '|'; use '||' for a logical or");
        return true;
      default: {
        size_t len = Utf8Length(static_cast<unsigned char>(c));
        size_t end = std::min(src_.size(), t.offset + len);
        Error(t.offset, "unexpected character '" + std::string(src_.substr(t.offset, end - t.offset)) + "'");
        pos_ = end;
        t.kind = TokenKind::kBad;
        return true;
      }
    }
  }

  bool Accept(char c) {
    if (!Peek(c)) return false;
    ++pos_;
    return true;
  }

  bool Identifier(Token& t) {
    while (pos_ < src_.size() && IsIdentChar(src_[pos_])) ++pos_;
    std::string_view word = src_.substr(t.offset, pos_ - t.offset);
    if (word == "true") t.kind = TokenKind::kTrue;
    else if (word == "false") t.kind = TokenKind::kFalse;
    else if (word == "null") t.kind = TokenKind::kNull;
    else if (word == "in") t.kind = TokenKind::kIn;
    else t.kind = TokenKind::kIdent;
    t.text = std::string(word);
    return true;
  }

  // digits ['.' digits] [('e'|'E') ['+'|'-'] digits]
  bool Number(Token& t) {
    while (pos_ < src_.size() && IsDigit(src_[pos_])) ++pos_;
    if (Peek('.') && pos_ + 1 < src_.size() && IsDigit(src_[pos_ + 1])) {
      ++pos_;
      while (pos_ < src_.size() && IsDigit(src_[pos_])) ++pos_;
    }
    if (Peek('e') || Peek('E')) {
      size_t digits_at = pos_ + ((Peek('+', 1) || Peek('-', 1)) ? 2 : 1);
      if (digits_at < src_.size() && IsDigit(src_[digits_at])) {
        pos_ = digits_at;
        while (pos_ < src_.size() && IsDigit(src_[pos_])) ++pos_;
      }
    }
    std::string_view digits = src_.substr(t.offset, pos_ - t.offset);
    t.kind = TokenKind::kNumber;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), t.number);
    if (ec != std::errc()) Error(t.offset, "number out of range '" + std::string(digits) + "'");
    if (pos_ < src_.size() && IsIdentChar(src_[pos_])) {
      // "3d", "12px": a number glued to letters. Durations are the usual culprit.
      while (pos_ < src_.size() && IsIdentChar(src_[pos_])) ++pos_;
      std::string word(src_.substr(t.offset, pos_ - t.offset));
      if (ParseDurationMillis(word)) {
        Error(t.offset, "'" + word + "' is not a number; write a duration as duration(\"" + word + "\")");
      } else {
        Error(t.offset, "invalid number '" + word + "'");
      }
    }
    return true;
  }

  // A quoted string; the opening quote is at pos_. Raw strings take backslashes literally.
  bool String(Token& t, bool raw) {
    char quote = src_[pos_++];
    t.kind = TokenKind::kString;
    while (true) {
      if (pos_ >= src_.size()) {
        Error(t.offset, "unterminated string");
        return true;
      }
      char c = src_[pos_];
      if (c == quote) {
        ++pos_;
        return true;
      }
      if (c != '\\' || raw) {
        t.text += c;
        ++pos_;
        continue;
      }
      Escape(t.text);
    }
  }

  // A backslash escape at pos_; appends what it stands for.
  void Escape(std::string& out) {
    size_t at = pos_;
    if (pos_ + 1 >= src_.size()) {  // a lone backslash at the end: the string is unterminated
      ++pos_;
      return;
    }
    char e = src_[pos_ + 1];
    pos_ += 2;
    switch (e) {
      case '\\': out += '\\'; return;
      case '"': out += '"'; return;
      case '\'': out += '\''; return;
      case 'n': out += '\n'; return;
      case 't': out += '\t'; return;
      case 'r': out += '\r'; return;
      case '0': out += '\0'; return;
      case 'x': {
        int hi = pos_ + 1 < src_.size() ? HexValue(src_[pos_]) : -1;
        int lo = hi >= 0 ? HexValue(src_[pos_ + 1]) : -1;
        if (lo < 0) {
          Error(at, "invalid escape '\\x': expected two hex digits");
          return;
        }
        out += static_cast<char>(hi * 16 + lo);
        pos_ += 2;
        return;
      }
      case 'u': {
        uint32_t cp = 0;
        if (!Hex4(cp)) {
          Error(at, "invalid escape '\\u': expected four hex digits");
          return;
        }
        if (cp >= 0xD800 && cp < 0xDC00) {  // a surrogate pair: \uD83D\uDE00
          uint32_t low = 0;
          if (Peek('\\') && Peek('u', 1)) {
            pos_ += 2;
            if (Hex4(low) && low >= 0xDC00 && low < 0xE000) {
              AppendUtf8(out, 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00));
              return;
            }
          }
          Error(at, "invalid escape '\\u': unpaired surrogate");
          return;
        }
        if (cp >= 0xDC00 && cp < 0xE000) {
          Error(at, "invalid escape '\\u': unpaired surrogate");
          return;
        }
        AppendUtf8(out, cp);
        return;
      }
      default: {
        size_t len = Utf8Length(static_cast<unsigned char>(e));
        std::string seq(src_.substr(at, std::min(src_.size() - at, 1 + len)));
        pos_ = at + seq.size();
        Error(at, "unknown escape '" + seq + "' in string; write '\\" + seq +
                      "' for a backslash, or use a raw string r\"...\"");
        out += seq;
        return;
      }
    }
  }

  bool Hex4(uint32_t& out) {
    if (pos_ + 4 > src_.size()) return false;
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) {
      int h = HexValue(src_[pos_ + i]);
      if (h < 0) return false;
      v = v * 16 + static_cast<uint32_t>(h);
    }
    pos_ += 4;
    out = v;
    return true;
  }

  std::string_view src_;
  std::vector<ExprError>& errors_;
  size_t pos_ = 0;
};

}  // namespace

std::vector<Token> Lex(std::string_view source, std::vector<ExprError>& errors) {
  return Lexer(source, errors).Run();
}

std::string DescribeToken(const Token& token, std::string_view source) {
  std::string_view text = source.substr(token.offset, token.length);
  switch (token.kind) {
    case TokenKind::kEnd: return "end of expression";
    case TokenKind::kIdent: return "identifier '" + token.text + "'";
    case TokenKind::kNumber: return "number " + std::string(text);
    case TokenKind::kString:
      if (text.size() > 24) return "string " + std::string(text.substr(0, 20)) + "...";
      return "string " + std::string(text);
    default: return "'" + std::string(text) + "'";
  }
}

}  // namespace reach::dsl::expr
