// Compile errors: every one found, each with its exact message and byte offset.

#include <string>

#include <gtest/gtest.h>

#include "dsl/expression.h"
#include "dsl/expression_test_support.h"

namespace reach::dsl::testing {
namespace {

// --- syntax ----------------------------------------------------------------------------------------

TEST(ExpressionSyntax, EmptyExpressionIsAnError) {
  EXPECT_EQ(CompileErrors(""), (Errors{{0, "empty expression"}}));
  EXPECT_EQ(CompileErrors("  \n "), (Errors{{0, "empty expression"}}));
}

TEST(ExpressionSyntax, UnexpectedTokenWhereAnOperandBelongs) {
  EXPECT_EQ(CompileErrors("user.a == )"), (Errors{{10, "expected an expression, found ')'"}}));
}

TEST(ExpressionSyntax, MissingOperandAtTheEnd) {
  EXPECT_EQ(CompileErrors("user.a &&"), (Errors{{9, "unexpected end of expression"}}));
}

TEST(ExpressionSyntax, TwoOperandsWithoutAnOperator) {
  EXPECT_EQ(CompileErrors("user.a user.b"), (Errors{{7, "expected an operator, found identifier 'user'"}}));
}

TEST(ExpressionSyntax, UnclosedParenthesisIsReportedWhereItOpens) {
  EXPECT_EQ(CompileErrors("user.a == (\"x\""), (Errors{{10, "unbalanced parentheses: '(' is never closed"}}));
  EXPECT_EQ(CompileErrors("has_tag(\"x\""), (Errors{{7, "unbalanced parentheses: '(' is never closed"}}));
}

TEST(ExpressionSyntax, ExtraClosingParenthesis) {
  EXPECT_EQ(CompileErrors("(user.a == 1))"), (Errors{{13, "unbalanced parentheses: unexpected ')'"}}));
}

TEST(ExpressionSyntax, UnbalancedBrackets) {
  EXPECT_EQ(CompileErrors("user.a in [1, 2"), (Errors{{10, "unbalanced brackets: '[' is never closed"}}));
  EXPECT_EQ(CompileErrors("user.a]"), (Errors{{6, "unbalanced brackets: unexpected ']'"}}));
}

TEST(ExpressionSyntax, MismatchedClosingBracket) {
  EXPECT_EQ(CompileErrors("(user.a]"), (Errors{{7, "expected ')', found ']'"}}));
}

TEST(ExpressionSyntax, MissingCommaBetweenArguments) {
  EXPECT_EQ(CompileErrors("contains(user.a \"x\")"), (Errors{{16, "expected ',' or ')', found string \"x\""}}));
  EXPECT_EQ(CompileErrors("[1 2]"), (Errors{{3, "expected ',' or ']', found number 2"}}));
}

TEST(ExpressionSyntax, TrailingCommaInArguments) {
  EXPECT_EQ(CompileErrors("has_tag(\"x\",)"), (Errors{{12, "expected an expression, found ')'"}}));
}

TEST(ExpressionSyntax, UnterminatedStringIsReportedAtItsQuote) {
  EXPECT_EQ(CompileErrors("user.a == \"abc"), (Errors{{10, "unterminated string"}}));
  EXPECT_EQ(CompileErrors("user.a == 'abc\\'"), (Errors{{10, "unterminated string"}}));
}

TEST(ExpressionSyntax, UnknownEscapeSuggestsARawString) {
  EXPECT_EQ(CompileErrors("matches(user.a, \"\\d+\")"),
            (Errors{{17, "unknown escape '\\d' in string; write '\\\\d' for a backslash, or use a raw string r\"...\""}}));
}

TEST(ExpressionSyntax, BadUnicodeEscapes) {
  EXPECT_EQ(CompileErrors("\"\\u12\""), (Errors{{1, "invalid escape '\\u': expected four hex digits"}}));
  EXPECT_EQ(CompileErrors("\"\\ud83d\""), (Errors{{1, "invalid escape '\\u': unpaired surrogate"}}));
  EXPECT_EQ(CompileErrors("\"\\xZ1\""), (Errors{{1, "invalid escape '\\x': expected two hex digits"}}));
}

TEST(ExpressionSyntax, StrayCharacter) {
  EXPECT_EQ(CompileErrors("user.a # 1"), (Errors{{7, "unexpected character '#'"}}));
  EXPECT_EQ(CompileErrors("user.a == 1；"), (Errors{{11, "unexpected character '；'"}}));
}

TEST(ExpressionSyntax, SingleEqualsSuggestsDoubleEquals) {
  EXPECT_EQ(CompileErrors("user.a = 1"), (Errors{{7, "unexpected '='; use '==' to compare"}}));
}

TEST(ExpressionSyntax, SingleAmpersandAndBarSuggestTheLogicalOperators) {
  EXPECT_EQ(CompileErrors("user.a & user.b | user.c"),
            (Errors{{7, "unexpected '&'; use '&&' for a logical and"}, {16, "unexpected '|'; use '||' for a logical or"}}));
}

TEST(ExpressionSyntax, NumberGluedToAUnitSuggestsDuration) {
  EXPECT_EQ(CompileErrors("user.wait > 3d"), (Errors{{12, "'3d' is not a number; write a duration as duration(\"3d\")"}}));
  EXPECT_EQ(CompileErrors("12px"), (Errors{{0, "invalid number '12px'"}}));
}

TEST(ExpressionSyntax, NumberTooLargeForADouble) {
  EXPECT_EQ(CompileErrors("user.a > 1e400"), (Errors{{9, "number out of range '1e400'"}}));
}

TEST(ExpressionSyntax, ConditionalWithoutColon) {
  EXPECT_EQ(CompileErrors("user.a ? 1"), (Errors{{10, "expected ':' after the '?' branch, found end of expression"}}));
}

TEST(ExpressionSyntax, DotWithoutAName) {
  EXPECT_EQ(CompileErrors("user. == 1"), (Errors{{6, "expected a field or method name after '.', found '=='"}}));
}

TEST(ExpressionSyntax, KeywordsAreFineAsFieldNames) {
  std::vector<ExprError> errors;
  EXPECT_NE(Expression::Compile("event.in == user.null", errors), nullptr);
  EXPECT_TRUE(errors.empty());
}

TEST(ExpressionSyntax, OneTypoGivesOneMessage) {
  EXPECT_EQ(CompileErrors("1 + * 2"), (Errors{{4, "expected an expression, found '*'"}}));
  EXPECT_EQ(CompileErrors("has_tag(,)"), (Errors{{8, "expected an expression, found ','"}}));
}

TEST(ExpressionSyntax, DeepNestingIsRejected) {
  std::string deep = std::string(150, '(') + "1" + std::string(150, ')');
  EXPECT_EQ(CompileErrors(deep), (Errors{{100, "expression nested too deeply"}}));
}

TEST(ExpressionSyntax, VeryLongChainsAreRejected) {
  std::string chain = "ctx.i";
  for (int i = 0; i < 600; ++i) chain += " + ctx.i";
  Errors errors = CompileErrors(chain);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].second, "expression nested too deeply");
}

// --- names and functions ---------------------------------------------------------------------------

TEST(ExpressionNames, UnknownRootSuggestsTheClosestOne) {
  EXPECT_EQ(CompileErrors("usr.city == \"x\""), (Errors{{0, "unknown name 'usr'; did you mean 'user'?"}}));
  EXPECT_EQ(CompileErrors("cxt.a"), (Errors{{0, "unknown name 'cxt'; did you mean 'ctx'?"}}));
  EXPECT_EQ(CompileErrors("Event.type"), (Errors{{0, "unknown name 'Event'; did you mean 'event'?"}}));
}

TEST(ExpressionNames, UnknownRootWithoutACloseMatchListsTheRoots) {
  EXPECT_EQ(CompileErrors("profile.city"), (Errors{{0, "unknown name 'profile'; a path starts with user, event or ctx"}}));
}

TEST(ExpressionNames, FunctionNameWithoutParenthesesSuggestsCallingIt) {
  EXPECT_EQ(CompileErrors("now > 1"), (Errors{{0, "unknown name 'now'; did you mean 'now()'?"}}));
}

TEST(ExpressionNames, UnknownFunctionSuggestsTheClosestOne) {
  EXPECT_EQ(CompileErrors("has_tags(\"x\")"), (Errors{{0, "unknown function 'has_tags'; did you mean 'has_tag'?"}}));
  EXPECT_EQ(CompileErrors("user.a.starts_with(\"x\")"),
            (Errors{{7, "unknown function 'starts_with'; did you mean 'startsWith'?"}}));
  EXPECT_EQ(CompileErrors("foo(1)"), (Errors{{0, "unknown function 'foo'"}}));
}

TEST(ExpressionNames, WrongArityNamesTheCounts) {
  EXPECT_EQ(CompileErrors("has_tag(\"a\", \"b\")"), (Errors{{0, "has_tag takes 1 argument, got 2"}}));
  EXPECT_EQ(CompileErrors("now(1)"), (Errors{{0, "now takes no arguments, got 1"}}));
  EXPECT_EQ(CompileErrors("count_events(\"x\")"), (Errors{{0, "count_events takes 2 arguments, got 1"}}));
}

TEST(ExpressionNames, MethodArityDoesNotCountTheReceiver) {
  EXPECT_EQ(CompileErrors("user.a.contains()"), (Errors{{7, "contains takes 1 argument, got 0"}}));
  EXPECT_EQ(CompileErrors("user.a.size(1)"), (Errors{{7, "size takes no arguments, got 1"}}));
}

TEST(ExpressionNames, SomeFunctionsCannotBeMethods) {
  EXPECT_EQ(CompileErrors("user.has_tag(\"x\")"), (Errors{{5, "has_tag cannot be called as a method; write has_tag(...)"}}));
}

// --- argument types --------------------------------------------------------------------------------

TEST(ExpressionArguments, LiteralOfTheWrongTypeIsReportedAtTheArgument) {
  EXPECT_EQ(CompileErrors("has_tag(1)"), (Errors{{8, "has_tag expects a string as argument 1, got number"}}));
  EXPECT_EQ(CompileErrors("size(true)"), (Errors{{5, "size expects a string, list or map as argument 1, got bool"}}));
  EXPECT_EQ(CompileErrors("duration(5)"), (Errors{{9, "duration expects a string or duration as argument 1, got number"}}));
}

TEST(ExpressionArguments, EveryBadArgumentIsReported) {
  EXPECT_EQ(CompileErrors("startsWith(1, false)"), (Errors{{11, "startsWith expects a string as argument 1, got number"},
                                                           {14, "startsWith expects a string as argument 2, got bool"}}));
}

TEST(ExpressionArguments, ReceiverIsNamedAsSuch) {
  EXPECT_EQ(CompileErrors("(1).endsWith(\"x\")"), (Errors{{1, "endsWith expects a string as its receiver, got number"}}));
  EXPECT_EQ(CompileErrors("user.a.endsWith(2)"), (Errors{{16, "endsWith expects a string as argument 1, got number"}}));
}

TEST(ExpressionArguments, ContainsOnAStringNeedsAString) {
  EXPECT_EQ(CompileErrors("\"abc\".contains(1)"), (Errors{{15, "contains expects a string as argument 1, got number"}}));
  std::vector<ExprError> errors;
  EXPECT_NE(Expression::Compile("[1, 2].contains(1)", errors), nullptr);
}

TEST(ExpressionArguments, PathsAreCheckedAtRunTimeNotCompileTime) {
  std::vector<ExprError> errors;
  EXPECT_NE(Expression::Compile("has_tag(user.x) && size(event.y) > int(ctx.z)", errors), nullptr);
  EXPECT_TRUE(errors.empty());
}

TEST(ExpressionArguments, BadLiteralDurationIsReportedAtTheArgument) {
  EXPECT_EQ(CompileErrors("duration(\"3x\")"), (Errors{{9, "invalid duration \"3x\" (use e.g. 90s, 15m, 2h, 3d, 1h30m)"}}));
  EXPECT_EQ(CompileErrors("count_events(\"open\", \"7days\")"),
            (Errors{{21, "invalid duration \"7days\" (use e.g. 90s, 15m, 2h, 3d, 1h30m)"}}));
}

TEST(ExpressionArguments, BadLiteralTimestampIsReportedAtTheArgument) {
  EXPECT_EQ(CompileErrors("now() > timestamp(\"2026-02-30\")"),
            (Errors{{18, "invalid timestamp \"2026-02-30\" (use RFC 3339, e.g. 2026-01-01T09:00:00Z)"}}));
}

TEST(ExpressionArguments, BadLiteralRegexIsReportedAtThePattern) {
  EXPECT_EQ(CompileErrors("matches(user.phone, \"^(1\")"),
            (Errors{{20, "invalid regular expression: unbalanced '(' or unsupported group syntax"}}));
  EXPECT_EQ(CompileErrors("user.phone.matches(\"[abc\")"), (Errors{{19, "invalid regular expression: unbalanced '['"}}));
  EXPECT_EQ(CompileErrors("matches(user.a, \"[z-a]\")"), (Errors{{16, "invalid regular expression: invalid character range"}}));
  EXPECT_EQ(CompileErrors("matches(user.a, \"[[:foo:]]\")"), (Errors{{16, "invalid regular expression: invalid character class"}}));
  EXPECT_EQ(CompileErrors("matches(user.a, \"(?<x)\")"),
            (Errors{{16, "invalid regular expression: unbalanced '(' or unsupported group syntax"}}));
}

TEST(ExpressionArguments, RegexWithNothingToRepeatSaysSo) {
  EXPECT_EQ(CompileErrors("matches(user.file, \"*.png\")"),
            (Errors{{19, "invalid regular expression: nothing to repeat before '*'"}}));
  EXPECT_EQ(CompileErrors("matches(user.a, \"a|+b\")"), (Errors{{16, "invalid regular expression: nothing to repeat before '+'"}}));
}

TEST(ExpressionArguments, BadLiteralConversionIsACompileError) {
  EXPECT_EQ(CompileErrors("int(\"12a\")"), (Errors{{4, "cannot convert \"12a\" to int"}}));
}

// --- operator types --------------------------------------------------------------------------------

TEST(ExpressionOperators, OrderingDifferentKnownTypesIsAnError) {
  EXPECT_EQ(CompileErrors("\"a\" < 1"), (Errors{{4, "operator '<' is not defined for string and number"}}));
}

TEST(ExpressionOperators, NotOfANonBoolIsAnError) {
  EXPECT_EQ(CompileErrors("!5"), (Errors{{0, "operator '!' is not defined for number"}}));
  EXPECT_EQ(CompileErrors("-\"a\""), (Errors{{0, "operator '-' is not defined for string"}}));
}

TEST(ExpressionOperators, LogicOnANonBoolIsAnError) {
  EXPECT_EQ(CompileErrors("1 && true"), (Errors{{2, "operator '&&' is not defined for number and bool"}}));
  EXPECT_EQ(CompileErrors("user.a || \"x\""), (Errors{{7, "operator '||' is not defined for any and string"}}));
}

TEST(ExpressionOperators, ArithmeticOnAStringIsAnError) {
  EXPECT_EQ(CompileErrors("\"x\" - 1"), (Errors{{4, "operator '-' is not defined for string and number"}}));
  EXPECT_EQ(CompileErrors("\"x\" + 1"), (Errors{{4, "operator '+' is not defined for string and number"}}));
  EXPECT_EQ(CompileErrors("user.a * \"2\""), (Errors{{7, "operator '*' is not defined for any and string"}}));
}

TEST(ExpressionOperators, EqualityOfDifferentKnownTypesIsAnError) {
  EXPECT_EQ(CompileErrors("1 == \"1\""), (Errors{{2, "operator '==' is not defined for number and string"}}));
}

TEST(ExpressionOperators, NullComparesWithAnythingButOrdersWithNothing) {
  std::vector<ExprError> errors;
  EXPECT_NE(Expression::Compile("1 != null && null == \"a\"", errors), nullptr);
  EXPECT_EQ(CompileErrors("1 < null"), (Errors{{2, "operator '<' is not defined for number and null"}}));
}

TEST(ExpressionOperators, InNeedsAContainer) {
  EXPECT_EQ(CompileErrors("1 in 2"), (Errors{{2, "operator 'in' is not defined for number and number"}}));
  EXPECT_EQ(CompileErrors("1 in \"123\""), (Errors{{2, "operator 'in' is not defined for number and string"}}));
}

TEST(ExpressionOperators, TimeArithmeticIsTyped) {
  EXPECT_EQ(CompileErrors("now() + now()"), (Errors{{6, "operator '+' is not defined for timestamp and timestamp"}}));
  EXPECT_EQ(CompileErrors("duration(\"1d\") - now()"),
            (Errors{{15, "operator '-' is not defined for duration and timestamp"}}));
  EXPECT_EQ(CompileErrors("now() > \"2026-01-01\""),
            (Errors{{6, "operator '>' is not defined for timestamp and string; convert the string with timestamp(...) "
                        "or duration(...)"}}));
}

TEST(ExpressionOperators, ConstantDivisionByZeroIsACompileError) {
  EXPECT_EQ(CompileErrors("user.a > 1 / 0"), (Errors{{11, "division by zero"}}));
}

TEST(ExpressionOperators, ConditionMustBeBool) {
  EXPECT_EQ(CompileErrors("1 ? \"a\" : \"b\""), (Errors{{2, "the condition of '?:' must be bool, got number"}}));
}

TEST(ExpressionOperators, IndexAndSelectNeedContainers) {
  EXPECT_EQ(CompileErrors("\"abc\"[0]"), (Errors{{5, "cannot index a string"}}));
  EXPECT_EQ(CompileErrors("now().year"), (Errors{{5, "cannot select field 'year' from a timestamp"}}));
  EXPECT_EQ(CompileErrors("[1, 2][\"a\"]"), (Errors{{7, "a list index must be a number, got string"}}));
  EXPECT_EQ(CompileErrors("user.orders[-1]"), (Errors{{12, "a list index must be a non-negative integer, got -1"}}));
  EXPECT_EQ(CompileErrors("user[true]"), (Errors{{5, "an index must be a number or a string, got bool"}}));
}

// --- several errors ----------------------------------------------------------------------------------

TEST(ExpressionErrors, EveryErrorIsReportedInSourceOrder) {
  EXPECT_EQ(CompileErrors("foo(1) && usr.x == 1 && has_tag(1, 2) && \"a\" < 1"),
            (Errors{{0, "unknown function 'foo'"},
                    {10, "unknown name 'usr'; did you mean 'user'?"},
                    {24, "has_tag takes 1 argument, got 2"},
                    {45, "operator '<' is not defined for string and number"}}));
}

TEST(ExpressionErrors, SyntaxAndTypeErrorsAreReportedTogether) {
  EXPECT_EQ(CompileErrors("!5 || (usr.a == 1"), (Errors{{0, "operator '!' is not defined for number"},
                                                         {6, "unbalanced parentheses: '(' is never closed"},
                                                         {7, "unknown name 'usr'; did you mean 'user'?"}}));
}

TEST(ExpressionErrors, IndependentSyntaxErrorsAreAllReported) {
  EXPECT_EQ(CompileErrors("has_tag(\"a\" \"b\") && size(\"x\" 2)"),
            (Errors{{12, "expected ',' or ')', found string \"b\""}, {29, "expected ',' or ')', found number 2"}}));
}

TEST(ExpressionErrors, AreAppendedAfterExistingOnes) {
  std::vector<ExprError> errors{{99, "earlier"}};
  EXPECT_EQ(Expression::Compile("!5", errors), nullptr);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].message, "earlier");
  EXPECT_EQ(errors[1].offset, 0u);
}

}  // namespace
}  // namespace reach::dsl::testing
