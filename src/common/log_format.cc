#include "common/log_format.h"

namespace reach {
namespace {

constexpr char kHex[] = "0123456789abcdef";

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

bool IsPlain(unsigned char c) {
  if (c >= 0x80) return true;  // UTF-8
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '_': case '-': case '.': case '/': case ':': case '@': case '+': case ',': case '~':
    case '%': case '[': case ']': case '(': case ')':
      return true;
    default:
      return false;
  }
}

}  // namespace

void EscapeLogText(std::string_view text, std::string& out) {
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (!IsControl(c)) {
      out.push_back(ch);
      continue;
    }
    out.push_back('\\');
    switch (c) {
      case '\n': out.push_back('n'); break;
      case '\r': out.push_back('r'); break;
      case '\t': out.push_back('t'); break;
      default:
        out.push_back('x');
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xf]);
    }
  }
}

std::string LogQuoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '"' && text[i] != '\\') continue;
    EscapeLogText(text.substr(start, i - start), out);
    out.push_back('\\');
    out.push_back(text[i]);
    start = i + 1;
  }
  EscapeLogText(text.substr(start), out);
  out.push_back('"');
  return out;
}

std::string LogValue(std::string_view text) {
  bool plain = !text.empty();
  for (char c : text) plain = plain && IsPlain(static_cast<unsigned char>(c));
  return plain ? std::string(text) : LogQuoted(text);
}

}  // namespace reach
