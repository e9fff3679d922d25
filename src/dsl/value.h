#pragma once
// Value: the result of evaluating an expression. Small and cheap to copy in the common cases:
// scalars are held inline; strings, lists and maps taken from the scope's JSON are borrowed
// (pointers into it), and only values computed by the expression (a concatenation, a list
// literal) own their storage.
//
// The exact representation is private to value.cc/expression*.cc; the contract is below.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>

namespace reach::dsl {

class Value {
 public:
  enum class Kind : uint8_t { kNull, kBool, kNumber, kString, kList, kMap, kTimestamp, kDuration, kError };

  Value();  // null
  static Value Null();
  static Value Bool(bool b);
  static Value Number(double d);           // integral when d has no fraction (and fits int64)
  static Value Int(int64_t i);              // a number known to be integral
  static Value BorrowString(std::string_view s);   // caller keeps `s` alive
  static Value OwnString(std::string s);
  static Value Timestamp(int64_t unix_millis);
  static Value Duration(int64_t millis);
  static Value Error(std::string message);
  // Wraps JSON without copying: strings, arrays and objects are borrowed.
  static Value FromJson(const boost::json::value& json);
  static Value OwnList(std::vector<Value> items);

  Kind kind() const;
  bool is_error() const { return kind() == Kind::kError; }
  bool is_null() const { return kind() == Kind::kNull; }

  // Accessors called on the wrong kind return false / 0 / "" / null instead of failing.
  bool as_bool() const;              // requires kBool
  double as_number() const;          // requires kNumber
  bool is_integral() const;          // a kNumber with no fraction
  int64_t as_int() const;            // requires kNumber (truncates)
  std::string_view as_string() const;  // requires kString; for kError, the message
  int64_t as_millis() const;         // requires kTimestamp or kDuration
  // kList: number of items; kMap: number of keys; kString: number of bytes.
  size_t size() const;
  Value list_item(size_t i) const;   // requires kList
  // kList: whether an item == `item` (without copying the items).
  bool list_contains(const Value& item) const;
  // kMap: the value at key, or null.
  Value map_get(std::string_view key) const;
  // kMap: whether `key` is present (map_get cannot tell a missing key from a null value).
  bool map_contains(std::string_view key) const;
  // True when the string, list or map points into JSON owned by someone else (FromJson,
  // BorrowString); false for scalars and computed values.
  bool is_borrowed() const { return form_ == Form::kBorrowed; }

  // Deep copy into JSON (timestamps as RFC 3339 strings, durations as "90s" style strings,
  // errors as null).
  boost::json::value ToJson() const;
  // A short human-readable rendering for traces and `reach run`; also what the language's
  // string(x) returns. A string is written as is at the top level and quoted inside a list or
  // map; numbers without a fraction have no ".0"; timestamps and durations as in ToJson.
  std::string ToString() const;

  // Equality as the language defines `==` (numbers by value, lists/maps deeply).
  friend bool operator==(const Value& a, const Value& b);

  ~Value();
  Value(const Value&);
  Value(Value&&) noexcept;
  Value& operator=(const Value&);
  Value& operator=(Value&&) noexcept;

 private:
  // How a string, list or map is held; scalars are always inline.
  //   string / error: ptr_ -> chars, len_ bytes; kOwned keeps a std::string alive in owned_.
  //   list: kBorrowed -> ptr_ is a boost::json::array; kOwned -> a std::vector<Value> in owned_.
  //   map:  kBorrowed -> ptr_ is a boost::json::object (computed maps do not exist yet).
  enum class Form : uint8_t { kInline, kBorrowed, kOwned };

  explicit Value(Kind kind) : kind_(kind), i_(0) {}
  static Value OwnedText(Kind kind, std::string s);
  void AppendRendering(std::string& out, bool nested) const;  // ToString's worker

  Kind kind_;
  Form form_ = Form::kInline;
  bool integral_ = false;
  union {
    bool b_;
    double d_;
    int64_t i_;
    const void* ptr_;
  };
  size_t len_ = 0;                        // string / error length in bytes
  std::shared_ptr<const void> owned_;     // owned std::string or std::vector<Value>
};

// "null", "bool", "number", "string", "list", "map", "timestamp", "duration", "error": the
// names runtime error messages use (the same words as ExprTypeName).
std::string_view KindName(Value::Kind kind);

}  // namespace reach::dsl
