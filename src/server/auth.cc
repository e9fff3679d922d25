#include "server/auth.h"

#include <charconv>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace reach::server {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsHexSignature(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  return true;
}

std::string ToLowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    // Spend the same time as an equal-length comparison of `a`; only the length leaks (it is
    // not secret: keys have a fixed, documented shape).
    (void)CRYPTO_memcmp(a.data(), a.data(), a.size());
    return false;
  }
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool CheckBearer(std::string_view authorization_header, const std::vector<std::string>& keys) {
  std::string_view header = Trim(authorization_header);
  constexpr std::string_view kScheme = "bearer";
  if (header.size() <= kScheme.size() || ToLowerAscii(header.substr(0, kScheme.size())) != kScheme)
    return false;
  std::string_view rest = header.substr(kScheme.size());
  if (rest.front() != ' ' && rest.front() != '\t') return false;  // "Bearerx..."
  std::string_view token = Trim(rest);
  if (token.empty()) return false;
  bool matched = false;
  for (const std::string& key : keys)
    if (!key.empty()) matched = ConstantTimeEquals(token, key) || matched;  // no short-circuit
  return matched;
}

std::string_view SignatureCheckName(SignatureCheck check) {
  switch (check) {
    case SignatureCheck::kOk: return "ok";
    case SignatureCheck::kMissing: return "missing";
    case SignatureCheck::kMalformed: return "malformed";
    case SignatureCheck::kExpired: return "expired";
    case SignatureCheck::kMismatch: return "mismatch";
  }
  return "unknown";
}

std::string HmacSha256Hex(std::string_view secret, std::string_view message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // A zero-length key is legal HMAC; OpenSSL wants a non-null pointer for it.
  static const unsigned char kEmpty = 0;
  const void* key = secret.empty() ? static_cast<const void*>(&kEmpty) : secret.data();
  if (HMAC(EVP_sha256(), key, static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest,
           &length) == nullptr)
    return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

std::string SignBody(std::string_view body, std::string_view secret, int64_t timestamp_unix) {
  const std::string t = std::to_string(timestamp_unix);
  std::string message = t;
  message += '.';
  message += body;
  return "t=" + t + ",v1=" + HmacSha256Hex(secret, message);
}

SignatureCheck VerifySignature(std::string_view header, std::string_view body,
                               std::string_view secret, int64_t now_unix, int64_t window_seconds) {
  header = Trim(header);
  if (header.empty()) return SignatureCheck::kMissing;

  std::string_view timestamp;
  std::vector<std::string_view> signatures;
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view item = Trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) return SignatureCheck::kMalformed;
    std::string_view key = Trim(item.substr(0, eq));
    std::string_view value = Trim(item.substr(eq + 1));
    if (key == "t") {
      if (!timestamp.empty()) return SignatureCheck::kMalformed;  // two timestamps: which one?
      timestamp = value;
    } else if (key == "v1") {
      if (!IsHexSignature(value)) return SignatureCheck::kMalformed;
      signatures.push_back(value);
    }
  }
  int64_t t = 0;
  if (timestamp.empty()) return SignatureCheck::kMalformed;
  auto [end, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), t);
  if (ec != std::errc() || end != timestamp.data() + timestamp.size() || t < 0)
    return SignatureCheck::kMalformed;
  if (signatures.empty()) return SignatureCheck::kMalformed;
  // Compare as unsigned distances so a huge t cannot overflow the subtraction.
  const uint64_t distance = t > now_unix ? static_cast<uint64_t>(t) - static_cast<uint64_t>(now_unix)
                                         : static_cast<uint64_t>(now_unix) - static_cast<uint64_t>(t);
  if (window_seconds < 0 || distance > static_cast<uint64_t>(window_seconds)) return SignatureCheck::kExpired;

  std::string message(timestamp);
  message += '.';
  message += body;
  const std::string expected = HmacSha256Hex(secret, message);
  bool matched = false;
  for (std::string_view signature : signatures)
    matched = ConstantTimeEquals(ToLowerAscii(signature), expected) || matched;
  return matched ? SignatureCheck::kOk : SignatureCheck::kMismatch;
}

}  // namespace reach::server
