// The built-in functions, called both as f(x, ...) and, where allowed, as x.f(...).

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "dsl/expression.h"
#include "dsl/expression_test_support.h"

namespace reach::dsl::testing {
namespace {

Value Str(std::string s) { return Value::OwnString(std::move(s)); }
const Value kTrue = Value::Bool(true);
const Value kFalse = Value::Bool(false);

// --- has_tag -------------------------------------------------------------------------------------

TEST_F(ExpressionTest, HasTagLooksInTheUsersTags) {
  EXPECT_EQ(Run("has_tag(\"vip\")"), kTrue);
  EXPECT_EQ(Run("has_tag(\"blocked\")"), kFalse);
  EXPECT_EQ(Run("!has_tag(\"blocked\") && has_tag(\"beta\")"), kTrue);
}

TEST_F(ExpressionTest, HasTagTakesANameComputedAtRunTime) { EXPECT_EQ(Run("has_tag(user.tags[1])"), kTrue); }

TEST(ExpressionFunctions, HasTagIsFalseWithoutAUserOrTags) {
  EXPECT_EQ(Eval("has_tag(\"vip\")"), kFalse);
  boost::json::value user = boost::json::parse(R"({"id": "u2", "tags": "vip"})");
  Scope scope{&user, nullptr, nullptr, nullptr};
  EXPECT_EQ(Eval("has_tag(\"vip\")", scope), kFalse);
}

TEST_F(ExpressionTest, HasTagOfANonStringAtRunTimeIsAnError) {
  EXPECT_EQ(Run("has_tag(ctx.count)").as_string(), "has_tag expects a string as argument 1, got number");
}

// --- size ----------------------------------------------------------------------------------------

TEST_F(ExpressionTest, SizeCountsListItemsAndMapKeys) {
  EXPECT_EQ(Run("size(user.tags)"), Value::Int(2));
  EXPECT_EQ(Run("size(user.prefs)"), Value::Int(2));
  EXPECT_EQ(Run("user.orders.size()"), Value::Int(2));
}

TEST(ExpressionFunctions, SizeCountsCharactersOfAString) {
  EXPECT_EQ(Eval("size(\"abc\")"), Value::Int(3));
  EXPECT_EQ(Eval("\"上海市\".size()"), Value::Int(3));
}

TEST_F(ExpressionTest, SizeOfAMissingPathIsAnError) {
  EXPECT_EQ(Run("size(user.missing)").as_string(), "size expects a string, list or map as argument 1, got null");
  EXPECT_EQ(Run("user.missing.size()").as_string(), "size expects a string, list or map as its receiver, got null");
}

// --- contains, startsWith, endsWith ---------------------------------------------------------------

TEST_F(ExpressionTest, ContainsFindsASubstring) {
  EXPECT_EQ(Run("contains(user.city, \"hai\")"), kTrue);
  EXPECT_EQ(Run("user.city.contains(\"Bei\")"), kFalse);
}

TEST_F(ExpressionTest, ContainsFindsAListElementOrAMapKey) {
  EXPECT_EQ(Run("user.tags.contains(\"vip\")"), kTrue);
  EXPECT_EQ(Run("contains(user.prefs, \"channel\")"), kTrue);
  EXPECT_EQ(Run("[1, 2].contains(ctx.count)"), kFalse);
}

TEST_F(ExpressionTest, ContainsOnANumberIsAnError) {
  EXPECT_EQ(Run("ctx.count.contains(1)").as_string(),
            "contains expects a string, list or map as its receiver, got number");
}

TEST_F(ExpressionTest, StartsWithAndEndsWithCompareAffixes) {
  EXPECT_EQ(Run("startsWith(user.city, \"Shang\")"), kTrue);
  EXPECT_EQ(Run("user.city.startsWith(\"hai\")"), kFalse);
  EXPECT_EQ(Run("endsWith(event.form_id, \"-sale\")"), kTrue);
  EXPECT_EQ(Run("event.form_id.endsWith(\"spring\")"), kFalse);
  EXPECT_EQ(Run("user.city.startsWith(\"\")"), kTrue);
}

// --- matches -------------------------------------------------------------------------------------

TEST_F(ExpressionTest, MatchesFindsThePatternAnywhereInTheString) {
  EXPECT_EQ(Run("matches(user.city, \"ng\")"), kTrue);
  EXPECT_EQ(Run("user.city.matches(r\"^S\\w+i$\")"), kTrue);
  EXPECT_EQ(Run("matches(user.city, \"^hai\")"), kFalse);
}

TEST(ExpressionFunctions, MatchesUsesEcmaScriptSyntax) {
  EXPECT_EQ(Eval("matches(\"13800138000\", r\"^1[3-9]\\d{9}$\")"), kTrue);
  EXPECT_EQ(Eval("matches(\"1380013800\", r\"^1[3-9]\\d{9}$\")"), kFalse);
}

TEST_F(ExpressionTest, MatchesTakesAPatternFromData) {
  EXPECT_EQ(Run("matches(user.city, ctx.pattern)"), kTrue);
}

TEST_F(ExpressionTest, MatchesWithABadPatternFromDataIsAnError) {
  EXPECT_EQ(Run("matches(user.city, ctx.bad_pattern)").as_string(), "invalid regular expression: unbalanced '(' or unsupported group syntax");
}

TEST(ExpressionFunctions, MatchesHandlesLongStrings) {
  // std::regex recursed per character and overflowed the stack long before this.
  boost::json::value ctx = {{"long", std::string(60000, 'a') + "b"}, {"spaced", std::string(60000, 'a') + " b"}};
  Scope scope{nullptr, nullptr, &ctx, nullptr};
  EXPECT_EQ(Eval("matches(ctx.long, \"^a+b$\")", scope), kTrue);
  EXPECT_EQ(Eval("matches(ctx.long, \"a{59999}b\")", scope), kTrue);
  EXPECT_EQ(Eval("matches(ctx.spaced, r\"^\\w+\\s\\w$\")", scope), kTrue);
  EXPECT_EQ(Eval("matches(ctx.long, \"c\")", scope), kFalse);
}

TEST(ExpressionFunctions, MatchesRefusesAStringOverTheLimit) {
  boost::json::value ctx = {{"long", std::string(65537, 'a')}, {"edge", std::string(65536, 'a')}};
  Scope scope{nullptr, nullptr, &ctx, nullptr};
  EXPECT_EQ(Eval("matches(ctx.edge, \"^a+$\")", scope), kTrue);
  EXPECT_EQ(Eval("matches(ctx.long, \"^a+$\")", scope).as_string(),
            "matches: the string is 65537 bytes long, the limit is 65536 (use contains() on longer text)");
}

TEST(ExpressionFunctions, MatchesGivesUpOnCatastrophicBacktracking) {
  boost::json::value ctx = {{"short", std::string(30, 'a')}, {"long", std::string(60000, 'a')},
                            {"pattern", "(a*)*b"}};
  Scope scope{nullptr, nullptr, &ctx, nullptr};
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Eval("matches(ctx.short, \"(a*)*b\")", scope).as_string(), "regex too complex for this input");
  EXPECT_EQ(Eval("matches(ctx.long, \"(a*)*b\")", scope).as_string(), "regex too complex for this input");
  EXPECT_EQ(Eval("matches(ctx.long, ctx.pattern)", scope).as_string(), "regex too complex for this input");
  EXPECT_EQ(Eval("matches(ctx.long, \"(a|aa)+$\")", scope).as_string(), "regex too complex for this input");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
}

TEST(ExpressionFunctions, MatchesKeepsEcmaScriptAnchorsAndDot) {
  // Boost's perl mode would let '^'/'$' match at line breaks and '.' match a newline.
  boost::json::value ctx = {{"lines", "a\nb"}};
  Scope scope{nullptr, nullptr, &ctx, nullptr};
  EXPECT_EQ(Eval("matches(ctx.lines, \"^b\")", scope), kFalse);
  EXPECT_EQ(Eval("matches(ctx.lines, \"a$\")", scope), kFalse);
  EXPECT_EQ(Eval("matches(ctx.lines, \"a.b\")", scope), kFalse);
  EXPECT_EQ(Eval("matches(ctx.lines, r\"a\\nb$\")", scope), kTrue);
}

// --- now, duration, timestamp --------------------------------------------------------------------

TEST_F(ExpressionTest, NowAsksTheHost) { EXPECT_EQ(Run("now()"), Value::Timestamp(1772359200000)); }

TEST(ExpressionFunctions, NowWithoutAHostIsTheEpoch) { EXPECT_EQ(Eval("now()"), Value::Timestamp(0)); }

TEST(ExpressionFunctions, DurationParsesText) {
  EXPECT_EQ(Eval("duration(\"1h30m\")"), Value::Duration(5400000));
  EXPECT_EQ(Eval("duration(duration(\"2d\"))"), Value::Duration(172800000));
}

TEST_F(ExpressionTest, DurationOfBadTextAtRunTimeIsAnError) {
  EXPECT_EQ(Run("duration(ctx.window)"), Value::Duration(7200000));
  EXPECT_EQ(Run("duration(ctx.bad_window)").as_string(), "invalid duration \"2x\" (use e.g. 90s, 15m, 2h, 3d, 1h30m)");
}

TEST(ExpressionFunctions, TimestampParsesRfc3339) {
  EXPECT_EQ(Eval("timestamp(\"2026-01-01T08:00:00+08:00\")"), Value::Timestamp(1767225600000));
  EXPECT_EQ(Eval("timestamp(\"2026-01-01\")"), Value::Timestamp(1767225600000));
}

TEST_F(ExpressionTest, TimestampOfBadTextAtRunTimeIsAnError) {
  EXPECT_EQ(Run("timestamp(event.timestamp)"), Value::Timestamp(1772359200000));
  EXPECT_EQ(Run("timestamp(user.city)").as_string(),
            "invalid timestamp \"Shanghai\" (use RFC 3339, e.g. 2026-01-01T09:00:00Z)");
}

// --- count_events ----------------------------------------------------------------------------------

TEST_F(ExpressionTest, CountEventsAsksTheHostWithTheWindowInMillis) {
  host_.counts["email_opened"] = 4;
  EXPECT_EQ(Run("count_events(\"email_opened\", \"7d\")"), Value::Int(4));
  EXPECT_EQ(host_.last_type, "email_opened");
  EXPECT_EQ(host_.last_window, 7 * 86400000);
}

TEST_F(ExpressionTest, CountEventsTakesADurationValue) {
  EXPECT_EQ(Run("count_events(\"x\", duration(\"2h\"))"), Value::Int(0));
  EXPECT_EQ(host_.last_window, 7200000);
}

TEST_F(ExpressionTest, CountEventsTakesAWindowFromData) {
  Run("count_events(event.type, ctx.window)");
  EXPECT_EQ(host_.last_type, "form_submitted");
  EXPECT_EQ(host_.last_window, 7200000);
  EXPECT_EQ(Run("count_events(\"x\", ctx.bad_window)").as_string(),
            "invalid duration \"2x\" (use e.g. 90s, 15m, 2h, 3d, 1h30m)");
}

TEST_F(ExpressionTest, CountEventsRejectsANegativeWindow) {
  EXPECT_EQ(Run("count_events(\"x\", -duration(ctx.window))").as_string(),
            "count_events: the window must not be negative");
}

TEST(ExpressionFunctions, CountEventsWithoutAHostIsZero) { EXPECT_EQ(Eval("count_events(\"x\", \"1d\")"), Value::Int(0)); }

// --- conversions ---------------------------------------------------------------------------------

TEST(ExpressionFunctions, StringRendersEveryKind) {
  EXPECT_EQ(Eval("string(42)"), Str("42"));
  EXPECT_EQ(Eval("string(2.5)"), Str("2.5"));
  EXPECT_EQ(Eval("string(true)"), Str("true"));
  EXPECT_EQ(Eval("string(null)"), Str("null"));
  EXPECT_EQ(Eval("string([1, \"a\"])"), Str("[1, \"a\"]"));
  EXPECT_EQ(Eval("string(timestamp(\"2026-01-01\"))"), Str("2026-01-01T00:00:00Z"));
  EXPECT_EQ(Eval("string(duration(\"90s\"))"), Str("90s"));
}

TEST_F(ExpressionTest, StringOfAStringIsTheSameBorrowedString) {
  Value v = Run("string(user.city)");
  EXPECT_EQ(v.as_string().data(), user_.at("traits").at("city").get_string().data());
}

TEST(ExpressionFunctions, IntTruncatesNumbersAndParsesText) {
  EXPECT_EQ(Eval("int(3.9)"), Value::Int(3));
  EXPECT_EQ(Eval("int(-3.9)"), Value::Int(-3));
  EXPECT_EQ(Eval("int(\"42\")"), Value::Int(42));
  EXPECT_EQ(Eval("int(\"-7\")"), Value::Int(-7));
}

TEST(ExpressionFunctions, IntOfATimeIsItsMillis) {
  EXPECT_EQ(Eval("int(duration(\"1s\"))"), Value::Int(1000));
  EXPECT_EQ(Eval("int(timestamp(\"2026-01-01\"))"), Value::Int(1767225600000));
}

TEST_F(ExpressionTest, IntOfBadTextAtRunTimeIsAnError) {
  EXPECT_EQ(Run("int(ctx.text)").as_string(), "cannot convert \"3.5\" to int");
}

TEST_F(ExpressionTest, DoubleParsesText) {
  EXPECT_EQ(Run("double(ctx.text)"), Value::Number(3.5));
  EXPECT_EQ(Run("double(ctx.count)"), Value::Int(3));
  EXPECT_EQ(Run("double(user.city)").as_string(), "cannot convert \"Shanghai\" to double");
}

TEST_F(ExpressionTest, ConversionOfAWrongDynamicTypeIsAnError) {
  EXPECT_EQ(Run("int(user.prefs)").as_string(),
            "int expects a number, string, timestamp or duration as argument 1, got map");
}

}  // namespace
}  // namespace reach::dsl::testing
