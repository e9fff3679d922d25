#include "dsl/value.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "dsl/expression_test_support.h"  // PrintTo(Value)

namespace reach::dsl {
namespace {

using Kind = Value::Kind;

TEST(Value, DefaultsToNull) {
  Value v;
  EXPECT_EQ(v.kind(), Kind::kNull);
  EXPECT_TRUE(v.is_null());
  EXPECT_TRUE(Value::Null().is_null());
}

TEST(Value, HoldsScalarsInline) {
  EXPECT_TRUE(Value::Bool(true).as_bool());
  EXPECT_EQ(Value::Number(2.5).as_number(), 2.5);
  EXPECT_EQ(Value::Timestamp(1234).kind(), Kind::kTimestamp);
  EXPECT_EQ(Value::Timestamp(1234).as_millis(), 1234);
  EXPECT_EQ(Value::Duration(-5).as_millis(), -5);
  EXPECT_FALSE(Value::Bool(true).is_borrowed());
}

TEST(Value, MarksNumbersWithoutFractionAsIntegral) {
  EXPECT_TRUE(Value::Int(7).is_integral());
  EXPECT_TRUE(Value::Number(2.0).is_integral());
  EXPECT_FALSE(Value::Number(2.5).is_integral());
  EXPECT_FALSE(Value::Number(1e300).is_integral());
}

TEST(Value, AsIntTruncatesTowardZero) {
  EXPECT_EQ(Value::Number(3.9).as_int(), 3);
  EXPECT_EQ(Value::Number(-3.9).as_int(), -3);
  EXPECT_EQ(Value::Int(-42).as_int(), -42);
}

TEST(Value, AccessorsOnTheWrongKindReturnDefaults) {
  Value s = Value::OwnString("x");
  EXPECT_FALSE(s.as_bool());
  EXPECT_EQ(s.as_number(), 0);
  EXPECT_EQ(s.as_millis(), 0);
  EXPECT_TRUE(s.list_item(0).is_null());
  EXPECT_TRUE(s.map_get("x").is_null());
  EXPECT_EQ(Value::Int(3).as_string(), "");
  EXPECT_EQ(Value::Int(3).size(), 0u);
}

TEST(Value, BorrowStringPointsAtTheCallersCharacters) {
  std::string text = "hello";
  Value v = Value::BorrowString(text);
  EXPECT_EQ(v.as_string().data(), text.data());
  EXPECT_TRUE(v.is_borrowed());
}

TEST(Value, OwnStringKeepsItsOwnCopy) {
  std::string text = "hello";
  Value v = Value::OwnString(text);
  text[0] = 'j';
  EXPECT_EQ(v.as_string(), "hello");
  EXPECT_FALSE(v.is_borrowed());
}

TEST(Value, CopiesShareOwnedStorage) {
  Value a = Value::OwnString(std::string(100, 'x'));
  Value b = a;
  EXPECT_EQ(a.as_string().data(), b.as_string().data());
}

TEST(Value, CopiesOutliveTheOriginal) {
  Value copy;
  {
    Value original = Value::OwnList({Value::OwnString("kept")});
    copy = original;
  }
  EXPECT_EQ(copy.list_item(0).as_string(), "kept");
}

TEST(Value, MovedFromValueIsNull) {
  Value a = Value::OwnString("moving");
  Value b = std::move(a);
  EXPECT_EQ(b.as_string(), "moving");
  EXPECT_TRUE(a.is_null());  // NOLINT(bugprone-use-after-move): the documented state
}

TEST(Value, ErrorCarriesItsMessage) {
  Value e = Value::Error("division by zero");
  EXPECT_TRUE(e.is_error());
  EXPECT_EQ(e.as_string(), "division by zero");
}

TEST(Value, FromJsonBorrowsStringsInsteadOfCopying) {
  boost::json::value json = boost::json::parse(R"({"city": "Shanghai"})");
  Value v = Value::FromJson(json.at("city"));
  EXPECT_EQ(v.kind(), Kind::kString);
  EXPECT_EQ(v.as_string().data(), json.at("city").get_string().data());
  EXPECT_TRUE(v.is_borrowed());
}

TEST(Value, FromJsonBorrowsArraysAndObjects) {
  boost::json::value json = boost::json::parse(R"({"list": [1, "two", null], "map": {"k": "v"}})");
  Value map = Value::FromJson(json);
  ASSERT_EQ(map.kind(), Kind::kMap);
  EXPECT_TRUE(map.is_borrowed());
  Value list = map.map_get("list");
  ASSERT_EQ(list.kind(), Kind::kList);
  EXPECT_EQ(list.size(), 3u);
  EXPECT_EQ(list.list_item(0).as_number(), 1);
  EXPECT_EQ(list.list_item(1).as_string().data(), json.at("list").at(1).get_string().data());
  EXPECT_TRUE(list.list_item(2).is_null());
  EXPECT_TRUE(list.list_item(3).is_null());
  EXPECT_EQ(map.map_get("map").map_get("k").as_string(), "v");
}

TEST(Value, FromJsonReadsEveryNumberKind) {
  EXPECT_TRUE(Value::FromJson(boost::json::value(int64_t{5})).is_integral());
  EXPECT_EQ(Value::FromJson(boost::json::value(uint64_t{7})).as_int(), 7);
  EXPECT_EQ(Value::FromJson(boost::json::value(1.25)).as_number(), 1.25);
  EXPECT_TRUE(Value::FromJson(boost::json::value(true)).as_bool());
}

TEST(Value, ListContainsComparesItemsByValue) {
  boost::json::value json = boost::json::parse(R"([1, "a", [2]])");
  Value borrowed = Value::FromJson(json);
  EXPECT_TRUE(borrowed.list_contains(Value::Number(1.0)));
  EXPECT_TRUE(borrowed.list_contains(Value::OwnString("a")));
  EXPECT_TRUE(borrowed.list_contains(Value::OwnList({Value::Int(2)})));
  EXPECT_FALSE(borrowed.list_contains(Value::OwnString("1")));
  EXPECT_TRUE(Value::OwnList({Value::Null()}).list_contains(Value::Null()));
  EXPECT_FALSE(Value::OwnString("a").list_contains(Value::OwnString("a")));
}

TEST(Value, MapContainsTellsAMissingKeyFromANullValue) {
  boost::json::value json = boost::json::parse(R"({"present": null})");
  Value map = Value::FromJson(json);
  EXPECT_TRUE(map.map_contains("present"));
  EXPECT_FALSE(map.map_contains("absent"));
  EXPECT_TRUE(map.map_get("present").is_null());
  EXPECT_TRUE(map.map_get("absent").is_null());
}

TEST(Value, SizeCountsBytesItemsAndKeys) {
  boost::json::value json = boost::json::parse(R"({"a": 1, "b": [1, 2, 3]})");
  EXPECT_EQ(Value::OwnString("中文").size(), 6u);
  EXPECT_EQ(Value::FromJson(json).size(), 2u);
  EXPECT_EQ(Value::FromJson(json.at("b")).size(), 3u);
  EXPECT_EQ(Value::OwnList({Value::Int(1)}).size(), 1u);
}

TEST(Value, ToJsonWritesScalars) {
  EXPECT_EQ(Value::Null().ToJson(), nullptr);
  EXPECT_EQ(Value::Bool(false).ToJson(), false);
  EXPECT_EQ(Value::Int(3).ToJson(), boost::json::value(int64_t{3}));
  EXPECT_TRUE(Value::Int(3).ToJson().is_int64());
  EXPECT_EQ(Value::Number(2.5).ToJson(), 2.5);
  EXPECT_EQ(Value::OwnString("s").ToJson(), "s");
  EXPECT_EQ(Value::Error("boom").ToJson(), nullptr);
}

TEST(Value, ToJsonWritesTimestampsAsRfc3339AndDurationsAsText) {
  EXPECT_EQ(Value::Timestamp(1767225600000).ToJson(), "2026-01-01T00:00:00Z");
  EXPECT_EQ(Value::Duration(90000).ToJson(), "90s");
}

TEST(Value, ToJsonDeepCopiesListsAndMaps) {
  boost::json::value json = boost::json::parse(R"({"m": {"k": [1, 2]}})");
  boost::json::value copy = Value::FromJson(json).ToJson();
  EXPECT_EQ(copy, json);
  json.at("m").at("k").as_array().clear();
  EXPECT_EQ(copy.at("m").at("k").as_array().size(), 2u);
  Value owned = Value::OwnList({Value::Int(1), Value::Duration(60000), Value::OwnString("x")});
  EXPECT_EQ(owned.ToJson(), boost::json::parse(R"([1, "1m", "x"])"));
}

TEST(Value, ToStringQuotesStringsOnlyInsideContainers) {
  EXPECT_EQ(Value::OwnString("plain").ToString(), "plain");
  EXPECT_EQ(Value::OwnList({Value::OwnString("a\"b"), Value::Int(1), Value::Null()}).ToString(),
            R"(["a\"b", 1, null])");
}

TEST(Value, ToStringWritesEveryKind) {
  boost::json::value json = boost::json::parse(R"({"k": "v", "n": [true]})");
  EXPECT_EQ(Value::FromJson(json).ToString(), R"({"k": "v", "n": [true]})");
  EXPECT_EQ(Value::Number(2.5).ToString(), "2.5");
  EXPECT_EQ(Value::Number(-3.0).ToString(), "-3");
  EXPECT_EQ(Value::Timestamp(1767225600123).ToString(), "2026-01-01T00:00:00.123Z");
  EXPECT_EQ(Value::Duration(5400000).ToString(), "1h30m");
  EXPECT_EQ(Value::Error("bad").ToString(), "error: bad");
}

TEST(Value, EqualityComparesNumbersByValue) {
  EXPECT_EQ(Value::Int(2), Value::Number(2.0));
  EXPECT_NE(Value::Int(2), Value::Number(2.5));
}

TEST(Value, EqualityComparesBorrowedAndOwnedStringsByContent) {
  std::string text = "same";
  EXPECT_EQ(Value::BorrowString(text), Value::OwnString("same"));
}

TEST(Value, EqualityComparesListsDeeplyWhateverHoldsThem) {
  boost::json::value json = boost::json::parse(R"([1, "a", [true]])");
  Value owned = Value::OwnList({Value::Int(1), Value::OwnString("a"), Value::OwnList({Value::Bool(true)})});
  EXPECT_EQ(Value::FromJson(json), owned);
  EXPECT_NE(Value::FromJson(json), Value::OwnList({Value::Int(1), Value::OwnString("a")}));
}

TEST(Value, EqualityComparesMapsDeeplyIgnoringKeyOrder) {
  boost::json::value a = boost::json::parse(R"({"x": 1, "y": {"z": [1]}})");
  boost::json::value b = boost::json::parse(R"({"y": {"z": [1.0]}, "x": 1})");
  boost::json::value c = boost::json::parse(R"({"x": 1, "y": {"z": [2]}})");
  EXPECT_EQ(Value::FromJson(a), Value::FromJson(b));
  EXPECT_NE(Value::FromJson(a), Value::FromJson(c));
}

TEST(Value, EqualityComparesTimesByMillisAndKindsStrictly) {
  EXPECT_EQ(Value::Timestamp(5), Value::Timestamp(5));
  EXPECT_NE(Value::Timestamp(5), Value::Duration(5));
  EXPECT_NE(Value::Int(1), Value::OwnString("1"));
  EXPECT_EQ(Value::Null(), Value::Null());
  EXPECT_NE(Value::Null(), Value::Bool(false));
}

TEST(Value, AnErrorEqualsNothingNotEvenItself) {
  Value e = Value::Error("x");
  EXPECT_NE(e, e);
}

TEST(Value, KindNamesMatchTheLanguagesTypeNames) {
  EXPECT_EQ(KindName(Kind::kNumber), "number");
  EXPECT_EQ(KindName(Kind::kTimestamp), "timestamp");
  EXPECT_EQ(KindName(Kind::kError), "error");
}

}  // namespace
}  // namespace reach::dsl
