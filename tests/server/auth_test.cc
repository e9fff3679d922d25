// API keys and webhook signatures: constant-time comparison, Bearer parsing, and HMAC-SHA256
// signatures checked against a vector computed independently (RFC 4231 for the primitive, and
// `printf '1700000000.{"type":"signup"}' | openssl dgst -sha256 -hmac whsec_test` for ours).

#include <gtest/gtest.h>

#include <cctype>

#include "server/auth.h"

namespace reach::server {
namespace {

constexpr std::string_view kSecret = "whsec_test";
constexpr std::string_view kBody = R"({"type":"signup"})";
constexpr int64_t kTimestamp = 1700000000;
// HMAC-SHA256(key = "whsec_test", message = "1700000000.{\"type\":\"signup\"}")
constexpr std::string_view kExpectedHex =
    "c8622e0bcdfa47e1aa6ae9cc6db00bc7194960f5b47448edb04d1adb64648854";

TEST(Auth, ConstantTimeEquals_ComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
}

TEST(Auth, CheckBearer_AcceptsAnyConfiguredKey) {
  const std::vector<std::string> keys = {"key-one", "key-two"};
  EXPECT_TRUE(CheckBearer("Bearer key-one", keys));
  EXPECT_TRUE(CheckBearer("bearer   key-two  ", keys));
  EXPECT_FALSE(CheckBearer("Bearer key-three", keys));
  EXPECT_FALSE(CheckBearer("Bearer ", keys));
  EXPECT_FALSE(CheckBearer("Basic a2V5LW9uZQ==", keys));
  EXPECT_FALSE(CheckBearer("Bearerkey-one", keys));
  EXPECT_FALSE(CheckBearer("key-one", keys));
  EXPECT_FALSE(CheckBearer("", keys));
  EXPECT_FALSE(CheckBearer("Bearer key-one", {}));
  EXPECT_FALSE(CheckBearer("Bearer ", {""}));
}

TEST(Auth, HmacSha256_MatchesRfc4231TestCase2) {
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Auth, SignBody_ProducesTheDocumentedHeader) {
  EXPECT_EQ(SignBody(kBody, kSecret, kTimestamp), "t=1700000000,v1=" + std::string(kExpectedHex));
}

TEST(Auth, VerifySignature_AcceptsAFreshCorrectSignature) {
  const std::string header = "t=1700000000,v1=" + std::string(kExpectedHex);
  EXPECT_EQ(VerifySignature(header, kBody, kSecret, kTimestamp), SignatureCheck::kOk);
  EXPECT_EQ(VerifySignature(header, kBody, kSecret, kTimestamp + 300), SignatureCheck::kOk);
  EXPECT_EQ(VerifySignature(header, kBody, kSecret, kTimestamp - 300), SignatureCheck::kOk);
  // Upper-case hex and spaces around the parts are tolerated.
  std::string upper(kExpectedHex);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(VerifySignature(" t=1700000000 , v1=" + upper, kBody, kSecret, kTimestamp),
            SignatureCheck::kOk);
}

TEST(Auth, VerifySignature_AnyOfSeveralV1MatchesDuringKeyRotation) {
  const std::string old_signature = SignBody(kBody, "old-secret", kTimestamp).substr(13);
  const std::string header =
      "t=1700000000," + old_signature + ",v0=ignored,v1=" + std::string(kExpectedHex);
  EXPECT_EQ(VerifySignature(header, kBody, kSecret, kTimestamp), SignatureCheck::kOk);
  EXPECT_EQ(VerifySignature(header, kBody, "old-secret", kTimestamp), SignatureCheck::kOk);
  EXPECT_EQ(VerifySignature(header, kBody, "third-secret", kTimestamp), SignatureCheck::kMismatch);
}

TEST(Auth, VerifySignature_RefusesOutsideTheWindow) {
  const std::string header = "t=1700000000,v1=" + std::string(kExpectedHex);
  EXPECT_EQ(VerifySignature(header, kBody, kSecret, kTimestamp + 301), SignatureCheck::kExpired);
  EXPECT_EQ(VerifySignature(header, kBody, kSecret, kTimestamp - 301), SignatureCheck::kExpired);
  EXPECT_EQ(VerifySignature(header, kBody, kSecret, kTimestamp + 60, /*window_seconds=*/30),
            SignatureCheck::kExpired);
}

TEST(Auth, VerifySignature_RefusesATamperedBodyOrWrongSecret) {
  const std::string header = "t=1700000000,v1=" + std::string(kExpectedHex);
  EXPECT_EQ(VerifySignature(header, R"({"type":"signup "})", kSecret, kTimestamp),
            SignatureCheck::kMismatch);
  EXPECT_EQ(VerifySignature(header, kBody, "whsec_other", kTimestamp), SignatureCheck::kMismatch);
  // The timestamp is signed too: moving it breaks the signature.
  EXPECT_EQ(VerifySignature("t=1700000001,v1=" + std::string(kExpectedHex), kBody, kSecret, kTimestamp),
            SignatureCheck::kMismatch);
}

TEST(Auth, VerifySignature_ClassifiesMissingAndMalformedHeaders) {
  const std::string v1 = "v1=" + std::string(kExpectedHex);
  EXPECT_EQ(VerifySignature("", kBody, kSecret, kTimestamp), SignatureCheck::kMissing);
  EXPECT_EQ(VerifySignature("   ", kBody, kSecret, kTimestamp), SignatureCheck::kMissing);
  EXPECT_EQ(VerifySignature(v1, kBody, kSecret, kTimestamp), SignatureCheck::kMalformed);
  EXPECT_EQ(VerifySignature("t=1700000000", kBody, kSecret, kTimestamp), SignatureCheck::kMalformed);
  EXPECT_EQ(VerifySignature("t=17e8," + v1, kBody, kSecret, kTimestamp), SignatureCheck::kMalformed);
  EXPECT_EQ(VerifySignature("t=-5," + v1, kBody, kSecret, kTimestamp), SignatureCheck::kMalformed);
  EXPECT_EQ(VerifySignature("t=1700000000,v1=abc", kBody, kSecret, kTimestamp),
            SignatureCheck::kMalformed);
  EXPECT_EQ(VerifySignature("t=1700000000,v1=" + std::string(64, 'g'), kBody, kSecret, kTimestamp),
            SignatureCheck::kMalformed);
  EXPECT_EQ(VerifySignature("t=1,t=2," + v1, kBody, kSecret, kTimestamp), SignatureCheck::kMalformed);
  EXPECT_EQ(VerifySignature("garbage", kBody, kSecret, kTimestamp), SignatureCheck::kMalformed);
}

}  // namespace
}  // namespace reach::server
