#include "common/log_format.h"

#include <gtest/gtest.h>

namespace reach {
namespace {

TEST(LogFormat, EscapeLogText_KeepsTextOnOneLine) {
  std::string out;
  EscapeLogText("a\nb\rc\td\x01" "e\x7f" "f \"g\" \xe6\x98\xa5", out);
  EXPECT_EQ(out, "a\\nb\\rc\\td\\x01e\\x7ff \"g\" \xe6\x98\xa5");  // UTF-8 kept as it is
  EXPECT_EQ(out.find('\n'), std::string::npos);
}

TEST(LogFormat, LogValue_BareForTokensQuotedOtherwise) {
  EXPECT_EQ(LogValue("/v1/executions"), "/v1/executions");
  EXPECT_EQ(LogValue("api/spring_sale.yaml"), "api/spring_sale.yaml");
  EXPECT_EQ(LogValue("\xe6\x98\xa5"), "\xe6\x98\xa5");
  EXPECT_EQ(LogValue(""), "\"\"");
  EXPECT_EQ(LogValue("a b"), "\"a b\"");
  EXPECT_EQ(LogValue("k=v"), "\"k=v\"");  // no forged field
  EXPECT_EQ(LogValue("/x\n<3>error forged=1"), "\"/x\\n<3>error forged=1\"");
  EXPECT_EQ(LogValue("say \"hi\" \\ bye"), "\"say \\\"hi\\\" \\\\ bye\"");
}

TEST(LogFormat, LogQuoted_AlwaysQuotes) {
  EXPECT_EQ(LogQuoted("disk full"), "\"disk full\"");
  EXPECT_EQ(LogQuoted("plain"), "\"plain\"");
  EXPECT_EQ(LogQuoted("a\"b"), "\"a\\\"b\"");
}

}  // namespace
}  // namespace reach
