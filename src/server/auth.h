#pragma once
// Request authentication: API keys (`Authorization: Bearer <key>`) and signed webhooks.
//
// Signature recipe (header X-Reach-Signature), the format clients implement:
//   header    = "t=" <unix seconds> "," "v1=" <hex> [ "," "v1=" <hex> ]...
//   v1        = lower-case hex of HMAC-SHA256(key = secret, message = <t> "." <raw body>)
// Several v1 entries let a sender sign with the old and the new secret while a secret is
// rotated; one match suffices. Other schemes ("v0=...") are ignored. The timestamp must lie
// within `window_seconds` of now (either side) so a captured request cannot be replayed later.
// Comparisons are constant-time. Pure functions, thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace reach::server {

// True when a == b, in time that depends on the lengths only, not on where they differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// True when `authorization_header` is "Bearer <token>" (scheme case-insensitive) and the token
// equals one of `keys` (empty keys never match). Every key is compared, so the time does not
// reveal which one matched. False for an empty key list.
bool CheckBearer(std::string_view authorization_header, const std::vector<std::string>& keys);

enum class SignatureCheck {
  kOk,
  kMissing,    // no header (empty)
  kMalformed,  // no t=, a t= that is not an integer, no v1=, or a v1= that is not 64 hex digits
  kExpired,    // |now - t| > window
  kMismatch,   // well-formed and fresh, but no v1 matches
};

std::string_view SignatureCheckName(SignatureCheck check);

// Checks `header` for `body` against `secret` (see the recipe above).
SignatureCheck VerifySignature(std::string_view header, std::string_view body,
                               std::string_view secret, int64_t now_unix,
                               int64_t window_seconds = 300);

// Lower-case hex of HMAC-SHA256(secret, message).
std::string HmacSha256Hex(std::string_view secret, std::string_view message);

// The header value a client sends: "t=<timestamp>,v1=<hmac hex>".
std::string SignBody(std::string_view body, std::string_view secret, int64_t timestamp_unix);

}  // namespace reach::server
