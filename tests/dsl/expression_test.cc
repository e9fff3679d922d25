// Evaluation: paths and their lookup rules, literals, every operator, borrowing, the host.
// Functions are in expression_functions_test.cc, compile errors in expression_errors_test.cc.

#include "dsl/expression.h"

#include <cstdlib>
#include <new>
#include <thread>

#include <gtest/gtest.h>

#include "dsl/expression_test_support.h"

// Allocation counting for EvaluatingPathConditionsAllocatesNothing: this binary's operator new
// counts the allocations of the thread that asked for it, and otherwise behaves as usual. Every
// non-aligned form is replaced, so that new and delete always pair up (sanitizer builds check).
namespace {
thread_local bool t_count_allocations = false;
thread_local long t_allocations = 0;

void* CountedAlloc(std::size_t size) noexcept {
  if (t_count_allocations) ++t_allocations;
  return std::malloc(size ? size : 1);
}
void* CountedAllocOrThrow(std::size_t size) {
  if (void* p = CountedAlloc(size)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t size) { return CountedAllocOrThrow(size); }
void* operator new[](std::size_t size) { return CountedAllocOrThrow(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return CountedAlloc(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return CountedAlloc(size); }
// GCC 12 takes free() inside a replaced operator delete for a mismatch with `new`; it is not:
// the operators new above allocate with malloc.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace reach::dsl::testing {
namespace {

using Kind = Value::Kind;

Value Str(std::string s) { return Value::OwnString(std::move(s)); }

// --- paths ---------------------------------------------------------------------------------

TEST_F(ExpressionTest, UserFieldReadsTheUsersOwnKeyFirst) {
  EXPECT_EQ(Run("user.name"), Str("Top-level name"));
  EXPECT_EQ(Run("user.id"), Str("u1"));
}

TEST_F(ExpressionTest, UserFieldFallsBackToTraits) { EXPECT_EQ(Run("user.city"), Str("Shanghai")); }

TEST_F(ExpressionTest, EventFieldReadsTheEventsOwnKeyFirst) { EXPECT_EQ(Run("event.type"), Str("form_submitted")); }

TEST_F(ExpressionTest, EventFieldFallsBackToProperties) { EXPECT_EQ(Run("event.form_id"), Str("spring-sale")); }

TEST_F(ExpressionTest, ExplicitTraitsAndPropertiesPathsStillWork) {
  EXPECT_EQ(Run("user.traits.name"), Str("Trait name"));
  EXPECT_EQ(Run("event.properties.type"), Str("shadowed"));
}

TEST_F(ExpressionTest, FallbackAppliesOnlyToTheFirstSegment) {
  EXPECT_EQ(Run("user.prefs.channel"), Str("sms"));  // prefs found through traits
  EXPECT_TRUE(Run("user.prefs.age").is_null());       // no fallback from prefs to traits
}

TEST_F(ExpressionTest, BracketKeyOnTheRootUsesTheFallbackToo) { EXPECT_EQ(Run("user[\"city\"]"), Str("Shanghai")); }

TEST_F(ExpressionTest, CtxHasNoFallback) {
  EXPECT_EQ(Run("ctx.item.sku"), Str("A"));
  EXPECT_TRUE(Run("ctx.sku").is_null());
}

TEST_F(ExpressionTest, MissingPathIsNullNotAnError) {
  EXPECT_TRUE(Run("user.nope").is_null());
  EXPECT_TRUE(Run("user.nope.deeper[3]").is_null());
  EXPECT_TRUE(Run("user.city.length").is_null());  // selecting into a string
}

TEST_F(ExpressionTest, PathUnderAnAbsentRootIsNull) {
  Scope empty;
  EXPECT_TRUE(Eval("user.city", empty).is_null());
  EXPECT_TRUE(Eval("event.type", empty).is_null());
  EXPECT_TRUE(Eval("ctx.item", empty).is_null());
}

TEST_F(ExpressionTest, IndexesListsAndKeysMaps) {
  EXPECT_EQ(Run("user.orders[1].price"), Value::Int(25));
  EXPECT_EQ(Run("user.orders[0][\"sku\"]"), Str("A"));
}

TEST_F(ExpressionTest, IndexOutOfRangeIsNull) { EXPECT_TRUE(Run("user.orders[2]").is_null()); }

TEST_F(ExpressionTest, IndexComputedAtRunTime) {
  EXPECT_EQ(Run("user.orders[ctx.i].sku"), Str("B"));
  EXPECT_EQ(Run("user.prefs[ctx.key]"), Str("sms"));
  EXPECT_EQ(Run("user.prefs[\"chan\" + \"nel\"]"), Str("sms"));
}

TEST_F(ExpressionTest, IndexOfTheWrongTypeAtRunTimeIsAnError) {
  EXPECT_EQ(Run("user.orders[ctx.key]").as_string(), "a list index must be a number, got string");
  EXPECT_EQ(Run("user.prefs[ctx.i]").as_string(), "a map key must be a string, got number");
}

TEST_F(ExpressionTest, RootAloneIsTheWholeObject) {
  Value v = Run("ctx");
  EXPECT_EQ(v.kind(), Kind::kMap);
  EXPECT_EQ(v.map_get("count"), Value::Int(3));
}

TEST_F(ExpressionTest, SelectsIntoComputedValues) {
  EXPECT_EQ(Run("[10, 20][1]"), Value::Int(20));
  EXPECT_EQ(Run("(ctx.i > 0 ? user.prefs : ctx.item).channel"), Str("sms"));
  EXPECT_EQ(Run("[user.orders][0][1].sku"), Str("B"));
}

// --- borrowing -----------------------------------------------------------------------------

TEST_F(ExpressionTest, PathStringPointsIntoTheScopesJson) {
  Value v = Run("user.city");
  EXPECT_TRUE(v.is_borrowed());
  EXPECT_EQ(v.as_string().data(), user_.at("traits").at("city").get_string().data());
}

TEST_F(ExpressionTest, PathListIsBorrowedNotCopied) {
  Value v = Run("event.items");
  EXPECT_TRUE(v.is_borrowed());
  EXPECT_EQ(v.list_item(0).as_string().data(), event_.at("properties").at("items").at(0).get_string().data());
}

TEST_F(ExpressionTest, ConditionalPassesABorrowedPathThrough) {
  Value v = Run("user.city == \"Shanghai\" ? user.city : \"elsewhere\"");
  EXPECT_EQ(v.as_string().data(), user_.at("traits").at("city").get_string().data());
}

TEST_F(ExpressionTest, ComputedStringOwnsItsStorage) {
  Value v = Run("user.city + \"!\"");
  EXPECT_EQ(v, Str("Shanghai!"));
  EXPECT_FALSE(v.is_borrowed());
}

TEST_F(ExpressionTest, EvaluatingPathConditionsAllocatesNothing) {
  host_.counts["email_opened"] = 3;
  std::vector<std::shared_ptr<const Expression>> exprs;
  for (const char* source : {
           "event.type == \"form_submitted\" && !has_tag(\"blocked\")",
           "user.city in [\"Beijing\", \"Shanghai\"] && user.age >= 30 && event.form_id.startsWith(\"spring\")",
           "timestamp(user.signup_at) < now() - duration(\"30d\") && count_events(\"email_opened\", \"7d\") > 2",
           "user.orders[ctx.i].price > 20 ? \"big\" : \"small\"",
           "size(user.tags) == 2 && \"vip\" in user.tags && user.prefs == ctx.prefs_copy",
       }) {
    exprs.push_back(MustCompile(source));
  }
  std::vector<Value> results(exprs.size());
  t_allocations = 0;
  t_count_allocations = true;
  for (size_t i = 0; i < exprs.size(); ++i) results[i] = exprs[i]->Evaluate(scope_);
  t_count_allocations = false;
  EXPECT_EQ(t_allocations, 0);
  for (const Value& v : results) EXPECT_FALSE(v.is_error()) << v.ToString();
  EXPECT_EQ(results[3], Str("big"));
}

TEST_F(ExpressionTest, LiteralResultOutlivesItsExpression) {
  Value v;
  {
    auto expr = MustCompile("ctx.i > 0 ? \"kept after the expression is gone\" : \"no\"");
    v = expr->Evaluate(scope_);
  }
  EXPECT_EQ(v.as_string(), "kept after the expression is gone");
}

// --- literals --------------------------------------------------------------------------------

TEST(ExpressionLiterals, ReadsNumbers) {
  EXPECT_EQ(Eval("42"), Value::Int(42));
  EXPECT_TRUE(Eval("42").is_integral());
  EXPECT_EQ(Eval("2.5"), Value::Number(2.5));
  EXPECT_EQ(Eval("1e3"), Value::Int(1000));
  EXPECT_EQ(Eval("2.5E-1"), Value::Number(0.25));
}

TEST(ExpressionLiterals, ReadsStringsInEitherQuote) {
  EXPECT_EQ(Eval("\"double\""), Str("double"));
  EXPECT_EQ(Eval("'single'"), Str("single"));
  EXPECT_EQ(Eval("'say \"hi\"'"), Str("say \"hi\""));
}

TEST(ExpressionLiterals, DecodesEscapes) {
  EXPECT_EQ(Eval(R"("a\nb\tc\\d\"e\'f")"), Str("a\nb\tc\\d\"e'f"));
  EXPECT_EQ(Eval(R"("\x41\u00e9\u4e2d\ud83d\ude00")"), Str("A\u00e9\u4e2d\U0001F600"));
}

TEST(ExpressionLiterals, RawStringsKeepBackslashes) { EXPECT_EQ(Eval(R"(r"\d+\.")"), Str("\\d+\\.")); }

TEST(ExpressionLiterals, ReadsBooleansAndNull) {
  EXPECT_EQ(Eval("true"), Value::Bool(true));
  EXPECT_EQ(Eval("false"), Value::Bool(false));
  EXPECT_TRUE(Eval("null").is_null());
}

TEST(ExpressionLiterals, ReadsLists) {
  EXPECT_EQ(Eval("[1, \"a\", [true], null]"),
            Value::OwnList({Value::Int(1), Str("a"), Value::OwnList({Value::Bool(true)}), Value::Null()}));
  EXPECT_EQ(Eval("[]").size(), 0u);
}

TEST_F(ExpressionTest, ListLiteralMayHoldPaths) {
  EXPECT_EQ(Run("[user.city, ctx.count]"), Value::OwnList({Str("Shanghai"), Value::Int(3)}));
}

// --- arithmetic ----------------------------------------------------------------------------

TEST(ExpressionArithmetic, MultipliesBeforeAdding) {
  EXPECT_EQ(Eval("1 + 2 * 3"), Value::Int(7));
  EXPECT_EQ(Eval("(1 + 2) * 3"), Value::Int(9));
  EXPECT_EQ(Eval("10 - 4 - 3"), Value::Int(3));  // left associative
}

TEST(ExpressionArithmetic, DividesAsRealNumbers) {
  EXPECT_EQ(Eval("7 / 2"), Value::Number(3.5));
  EXPECT_FALSE(Eval("7 / 2").is_integral());
  EXPECT_TRUE(Eval("8 / 2").is_integral());
}

TEST(ExpressionArithmetic, RemainderTakesTheSignOfTheDividend) {
  EXPECT_EQ(Eval("7 % 3"), Value::Int(1));
  EXPECT_EQ(Eval("-7 % 3"), Value::Int(-1));
  EXPECT_EQ(Eval("5.5 % 2"), Value::Number(1.5));
}

TEST(ExpressionArithmetic, NegatesNumbers) {
  EXPECT_EQ(Eval("-(2 + 3)"), Value::Int(-5));
  EXPECT_EQ(Eval("--4"), Value::Int(4));
}

TEST_F(ExpressionTest, DivisionByZeroAtRunTimeIsAnError) {
  EXPECT_EQ(Run("ctx.count / ctx.zero").as_string(), "division by zero");
  EXPECT_EQ(Run("ctx.count % ctx.zero").as_string(), "modulo by zero");
}

TEST_F(ExpressionTest, ArithmeticOnPathsReadsNumbers) {
  EXPECT_EQ(Run("user.age + 1"), Value::Int(32));
  EXPECT_EQ(Run("event.amount * 2"), Value::Number(199));
}

TEST_F(ExpressionTest, ArithmeticOnAWrongDynamicTypeIsAnError) {
  EXPECT_EQ(Run("user.city - 1").as_string(), "operator '-' is not defined for string and number");
  EXPECT_EQ(Run("-user.city").as_string(), "operator '-' is not defined for string");
}

TEST_F(ExpressionTest, PlusConcatenatesStrings) {
  EXPECT_EQ(Run("user.city + \"/\" + event.form_id"), Str("Shanghai/spring-sale"));
}

TEST_F(ExpressionTest, PlusConcatenatesLists) {
  EXPECT_EQ(Run("[1] + event.items"), Value::OwnList({Value::Int(1), Str("a"), Str("b")}));
}

// --- time arithmetic -----------------------------------------------------------------------

TEST(ExpressionTime, AddsAndSubtractsDurationsFromTimestamps) {
  EXPECT_EQ(Eval("timestamp(\"2026-01-01T00:00:00Z\") + duration(\"1h30m\")"),
            Value::Timestamp(1767225600000 + 5400000));
  EXPECT_EQ(Eval("duration(\"1d\") + timestamp(\"2026-01-01T00:00:00Z\")"), Value::Timestamp(1767225600000 + 86400000));
  EXPECT_EQ(Eval("timestamp(\"2026-01-02\") - duration(\"1d\")"), Value::Timestamp(1767225600000));
}

TEST(ExpressionTime, SubtractsTimestampsIntoADuration) {
  EXPECT_EQ(Eval("timestamp(\"2026-01-02T00:00:00Z\") - timestamp(\"2026-01-01T00:00:00Z\")"),
            Value::Duration(86400000));
}

TEST(ExpressionTime, AddsSubtractsAndNegatesDurations) {
  EXPECT_EQ(Eval("duration(\"1h\") + duration(\"30m\")"), Value::Duration(5400000));
  EXPECT_EQ(Eval("duration(\"1h\") - duration(\"2h\")"), Value::Duration(-3600000));
  EXPECT_EQ(Eval("-duration(\"90s\")"), Value::Duration(-90000));
}

TEST(ExpressionTime, OrdersTimestampsAndDurationsByMillis) {
  EXPECT_EQ(Eval("timestamp(\"2026-01-01T08:00:00+08:00\") == timestamp(\"2026-01-01T00:00:00Z\")"), Value::Bool(true));
  EXPECT_EQ(Eval("timestamp(\"2025-12-31\") < timestamp(\"2026-01-01\")"), Value::Bool(true));
  EXPECT_EQ(Eval("duration(\"90m\") > duration(\"1h\")"), Value::Bool(true));
  EXPECT_EQ(Eval("duration(\"60m\") == duration(\"1h\")"), Value::Bool(true));
}

TEST_F(ExpressionTest, ComparesATraitTimeWithNow) {
  EXPECT_EQ(Run("timestamp(user.signup_at) < now() - duration(\"30d\")"), Value::Bool(true));
  EXPECT_EQ(Run("now() - timestamp(user.signup_at)"), Value::Duration(1772359200000 - 1767225600000));
}

TEST_F(ExpressionTest, ComparingAStringWithATimestampSaysHowToConvert) {
  EXPECT_EQ(Run("user.signup_at < now()").as_string(),
            "operator '<' is not defined for string and timestamp; convert the string with timestamp(...) "
            "or duration(...)");
}

TEST_F(ExpressionTest, TimeOverflowAtRunTimeIsAnError) {
  EXPECT_EQ(Run("now() + duration(\"9223372036854775807ms\")").as_string(), "timestamp out of range");
}

// --- comparison and equality -----------------------------------------------------------------

TEST(ExpressionComparison, OrdersNumbersByValue) {
  EXPECT_EQ(Eval("1 < 2"), Value::Bool(true));
  EXPECT_EQ(Eval("2 <= 2"), Value::Bool(true));
  EXPECT_EQ(Eval("3 > 2.5"), Value::Bool(true));
  EXPECT_EQ(Eval("2 >= 3"), Value::Bool(false));
  EXPECT_EQ(Eval("2 == 2.0"), Value::Bool(true));
}

TEST(ExpressionComparison, OrdersStringsLexicographicallyByBytes) {
  EXPECT_EQ(Eval("\"apple\" < \"banana\""), Value::Bool(true));
  EXPECT_EQ(Eval("\"Z\" < \"a\""), Value::Bool(true));
  EXPECT_EQ(Eval("\"ab\" < \"abc\""), Value::Bool(true));
}

TEST_F(ExpressionTest, EqualityComparesListsAndMapsDeeply) {
  EXPECT_EQ(Run("event.items == [\"a\", \"b\"]"), Value::Bool(true));
  EXPECT_EQ(Run("event.items != [\"b\", \"a\"]"), Value::Bool(true));
  EXPECT_EQ(Run("user.prefs == ctx.prefs_copy"), Value::Bool(true));
  EXPECT_EQ(Run("user.prefs == ctx.item"), Value::Bool(false));
}

TEST_F(ExpressionTest, ValuesOfDifferentDynamicTypesAreUnequal) {
  EXPECT_EQ(Run("user.age == \"31\""), Value::Bool(false));
  EXPECT_EQ(Run("user.age != \"31\""), Value::Bool(true));
}

TEST_F(ExpressionTest, NullComparesEqualOnlyToNull) {
  EXPECT_EQ(Run("user.missing == null"), Value::Bool(true));
  EXPECT_EQ(Run("user.city != null"), Value::Bool(true));
  EXPECT_EQ(Run("ctx.flags.x == user.missing"), Value::Bool(true));
}

TEST_F(ExpressionTest, OrderingWithNullIsAnError) {
  EXPECT_EQ(Run("user.missing < 3").as_string(), "operator '<' is not defined for null and number");
}

TEST_F(ExpressionTest, OrderingMismatchedDynamicTypesIsAnError) {
  EXPECT_EQ(Run("user.city >= 3").as_string(), "operator '>=' is not defined for string and number");
}

// --- in ----------------------------------------------------------------------------------------

TEST_F(ExpressionTest, InFindsAnElementOfAList) {
  EXPECT_EQ(Run("\"vip\" in user.tags"), Value::Bool(true));
  EXPECT_EQ(Run("user.city in [\"Beijing\", \"Shanghai\"]"), Value::Bool(true));
  EXPECT_EQ(Run("25 in [user.orders[1].price]"), Value::Bool(true));
  EXPECT_EQ(Run("\"gold\" in user.tags"), Value::Bool(false));
}

TEST_F(ExpressionTest, InFindsASubstring) {
  EXPECT_EQ(Run("\"hang\" in user.city"), Value::Bool(true));
  EXPECT_EQ(Run("\"x\" in user.city"), Value::Bool(false));
}

TEST_F(ExpressionTest, InFindsAKeyOfAMapEvenWithANullValue) {
  EXPECT_EQ(Run("\"x\" in ctx.flags"), Value::Bool(true));
  EXPECT_EQ(Run("\"y\" in ctx.flags"), Value::Bool(false));
}

TEST_F(ExpressionTest, InOnAWrongDynamicTypeIsAnError) {
  EXPECT_EQ(Run("1 in user.city").as_string(), "operator 'in' is not defined for number and string");
  EXPECT_EQ(Run("1 in ctx.count").as_string(), "operator 'in' is not defined for number and number");
}

TEST(ExpressionPrecedence, InBindsTighterThanEquality) { EXPECT_EQ(Eval("\"a\" in [\"a\"] == true"), Value::Bool(true)); }

// --- logic ---------------------------------------------------------------------------------------

TEST(ExpressionLogic, AndOrAndNotFollowTheirTruthTables) {
  EXPECT_EQ(Eval("true && false"), Value::Bool(false));
  EXPECT_EQ(Eval("true && true"), Value::Bool(true));
  EXPECT_EQ(Eval("false || true"), Value::Bool(true));
  EXPECT_EQ(Eval("false || false"), Value::Bool(false));
  EXPECT_EQ(Eval("!false"), Value::Bool(true));
}

TEST(ExpressionPrecedence, AndBindsTighterThanOrAndNotTighterThanBoth) {
  EXPECT_EQ(Eval("true || true && false"), Value::Bool(true));
  EXPECT_EQ(Eval("!false && false"), Value::Bool(false));
  EXPECT_EQ(Eval("!(false && false)"), Value::Bool(true));
  EXPECT_EQ(Eval("1 + 1 == 2 && 3 > 2 || false"), Value::Bool(true));
}

TEST_F(ExpressionTest, AndStopsAtTheFirstFalse) {
  EXPECT_EQ(Run("ctx.count > 5 && user.city > 1"), Value::Bool(false));  // the right side would fail
}

TEST_F(ExpressionTest, OrStopsAtTheFirstTrue) { EXPECT_EQ(Run("ctx.count > 1 || user.city > 1"), Value::Bool(true)); }

TEST_F(ExpressionTest, LogicOnANonBoolDynamicValueIsAnError) {
  EXPECT_EQ(Run("user.city && true").as_string(), "the operands of '&&' must be bool, got string");
  EXPECT_EQ(Run("false || ctx.count").as_string(), "the operands of '||' must be bool, got number");
  EXPECT_EQ(Run("!user.city").as_string(), "operator '!' is not defined for string");
}

TEST_F(ExpressionTest, ErrorsPropagateThroughOperators) {
  EXPECT_EQ(Run("(user.city - 1) == 1").as_string(), "operator '-' is not defined for string and number");
  EXPECT_EQ(Run("[ctx.count / ctx.zero]").as_string(), "division by zero");
}

// --- conditional ---------------------------------------------------------------------------------

TEST_F(ExpressionTest, ConditionalPicksABranch) {
  EXPECT_EQ(Run("ctx.count > 2 ? \"many\" : \"few\""), Str("many"));
  EXPECT_EQ(Run("ctx.count > 5 ? \"many\" : \"few\""), Str("few"));
}

TEST_F(ExpressionTest, ConditionalNestsToTheRight) {
  EXPECT_EQ(Run("ctx.count > 5 ? \"a\" : ctx.count > 2 ? \"b\" : \"c\""), Str("b"));
}

TEST_F(ExpressionTest, ConditionalEvaluatesOnlyTheChosenBranch) {
  EXPECT_EQ(Run("ctx.count > 0 ? 1 : user.city - 1"), Value::Int(1));
}

TEST_F(ExpressionTest, ConditionalOnANonBoolDynamicValueIsAnError) {
  EXPECT_EQ(Run("user.city ? 1 : 2").as_string(), "the condition of '?:' must be bool, got string");
}

TEST(ExpressionPrecedence, ConditionalBindsLoosestOfAll) { EXPECT_EQ(Eval("1 > 2 || true ? 1 + 1 : 0"), Value::Int(2)); }

// --- static types, source, host, concurrency -------------------------------------------------

TEST(ExpressionType, IsKnownWhereTheOperandsAreKnown) {
  EXPECT_EQ(MustCompile("user.age > 3")->type(), ExprType::kBool);
  EXPECT_EQ(MustCompile("user.age + 1")->type(), ExprType::kNumber);
  EXPECT_EQ(MustCompile("user.city + \"x\"")->type(), ExprType::kString);
  EXPECT_EQ(MustCompile("now() - timestamp(user.signup_at)")->type(), ExprType::kDuration);
  EXPECT_EQ(MustCompile("now() + duration(\"1d\")")->type(), ExprType::kTimestamp);
  EXPECT_EQ(MustCompile("[1, 2]")->type(), ExprType::kList);
  EXPECT_EQ(MustCompile("user.flag ? \"a\" : \"b\"")->type(), ExprType::kString);
}

TEST(ExpressionType, IsAnyWhereItDependsOnData) {
  EXPECT_EQ(MustCompile("user.city")->type(), ExprType::kAny);
  EXPECT_EQ(MustCompile("user.x + user.y")->type(), ExprType::kAny);
  EXPECT_EQ(MustCompile("user.flag ? 1 : \"b\"")->type(), ExprType::kAny);
}

TEST(ExpressionType, NamesEveryType) {
  EXPECT_EQ(ExprTypeName(ExprType::kAny), "any");
  EXPECT_EQ(ExprTypeName(ExprType::kDuration), "duration");
  EXPECT_EQ(ExprTypeName(ExprType::kMap), "map");
}

TEST(Expression, KeepsItsSource) { EXPECT_EQ(MustCompile(" user.a == 1 ")->source(), " user.a == 1 "); }

TEST(Expression, ConstantExpressionNeedsNoScope) { EXPECT_EQ(Eval("string(1 + 2) + \"x\""), Str("3x")); }

TEST_F(ExpressionTest, ManyThreadsEvaluateOneExpressionAtOnce) {
  auto expr = MustCompile("user.city + \"-\" + string(ctx.count * 2) + (has_tag(\"vip\") ? \"!\" : \"\")");
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        if (expr->Evaluate(scope_).as_string() != "Shanghai-6!") ++wrong[t];
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(wrong, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace reach::dsl::testing
