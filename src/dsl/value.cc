#include "dsl/value.h"

#include <charconv>
#include <cmath>
#include <utility>

#include <boost/json.hpp>

#include "common/time_util.h"

namespace reach::dsl {

namespace {

using OwnedString = std::string;
using OwnedList = std::vector<Value>;

// Doubles in [-2^63, 2^63) convert to int64 without overflow.
constexpr double kInt64Limit = 9223372036854775808.0;

bool HasNoFraction(double d) {
  return std::isfinite(d) && std::trunc(d) == d && d >= -kInt64Limit && d < kInt64Limit;
}

void AppendQuoted(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[(c >> 4) & 0xf];
          out += kHex[c & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void AppendNumber(std::string& out, double d, bool integral) {
  char buf[32];
  std::to_chars_result r = integral ? std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(d))
                                    : std::to_chars(buf, buf + sizeof buf, d);
  out.append(buf, r.ptr);
}

}  // namespace

std::string_view KindName(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::kNull: return "null";
    case Value::Kind::kBool: return "bool";
    case Value::Kind::kNumber: return "number";
    case Value::Kind::kString: return "string";
    case Value::Kind::kList: return "list";
    case Value::Kind::kMap: return "map";
    case Value::Kind::kTimestamp: return "timestamp";
    case Value::Kind::kDuration: return "duration";
    case Value::Kind::kError: return "error";
  }
  return "?";
}

Value::Value() : kind_(Kind::kNull), i_(0) {}
Value::~Value() = default;
Value::Value(const Value&) = default;
Value& Value::operator=(const Value&) = default;

// A moved-from Value becomes null: its pointer would otherwise dangle once the new owner of
// `owned_` goes away.
Value::Value(Value&& other) noexcept
    : kind_(other.kind_),
      form_(other.form_),
      integral_(other.integral_),
      i_(other.i_),
      len_(other.len_),
      owned_(std::move(other.owned_)) {
  other.kind_ = Kind::kNull;
  other.form_ = Form::kInline;
}

Value& Value::operator=(Value&& other) noexcept {
  if (this != &other) {
    kind_ = other.kind_;
    form_ = other.form_;
    integral_ = other.integral_;
    i_ = other.i_;
    len_ = other.len_;
    owned_ = std::move(other.owned_);
    other.kind_ = Kind::kNull;
    other.form_ = Form::kInline;
  }
  return *this;
}

Value Value::Null() { return Value(); }

Value Value::Bool(bool b) {
  Value v(Kind::kBool);
  v.b_ = b;
  return v;
}

Value Value::Number(double d) {
  Value v(Kind::kNumber);
  v.d_ = d;
  v.integral_ = HasNoFraction(d);
  return v;
}

Value Value::Int(int64_t i) {
  Value v(Kind::kNumber);
  v.d_ = static_cast<double>(i);
  v.integral_ = true;
  return v;
}

Value Value::BorrowString(std::string_view s) {
  Value v(Kind::kString);
  v.form_ = Form::kBorrowed;
  v.ptr_ = s.data();
  v.len_ = s.size();
  return v;
}

Value Value::OwnedText(Kind kind, std::string s) {
  Value v(kind);
  auto owned = std::make_shared<const OwnedString>(std::move(s));
  v.form_ = Form::kOwned;
  v.ptr_ = owned->data();
  v.len_ = owned->size();
  v.owned_ = std::move(owned);
  return v;
}

Value Value::OwnString(std::string s) { return OwnedText(Kind::kString, std::move(s)); }
Value Value::Error(std::string message) { return OwnedText(Kind::kError, std::move(message)); }

Value Value::Timestamp(int64_t unix_millis) {
  Value v(Kind::kTimestamp);
  v.i_ = unix_millis;
  return v;
}

Value Value::Duration(int64_t millis) {
  Value v(Kind::kDuration);
  v.i_ = millis;
  return v;
}

Value Value::FromJson(const boost::json::value& json) {
  switch (json.kind()) {
    case boost::json::kind::null: return Null();
    case boost::json::kind::bool_: return Bool(json.get_bool());
    case boost::json::kind::int64: return Int(json.get_int64());
    case boost::json::kind::uint64: return Number(static_cast<double>(json.get_uint64()));
    case boost::json::kind::double_: return Number(json.get_double());
    case boost::json::kind::string: {
      const boost::json::string& s = json.get_string();
      return BorrowString(std::string_view(s.data(), s.size()));
    }
    case boost::json::kind::array: {
      Value v(Kind::kList);
      v.form_ = Form::kBorrowed;
      v.ptr_ = &json.get_array();
      return v;
    }
    case boost::json::kind::object: {
      Value v(Kind::kMap);
      v.form_ = Form::kBorrowed;
      v.ptr_ = &json.get_object();
      return v;
    }
  }
  return Null();
}

Value Value::OwnList(std::vector<Value> items) {
  Value v(Kind::kList);
  auto owned = std::make_shared<const OwnedList>(std::move(items));
  v.form_ = Form::kOwned;
  v.ptr_ = owned.get();
  v.owned_ = std::move(owned);
  return v;
}

Value::Kind Value::kind() const { return kind_; }

bool Value::as_bool() const { return kind_ == Kind::kBool && b_; }
double Value::as_number() const { return kind_ == Kind::kNumber ? d_ : 0.0; }
bool Value::is_integral() const { return kind_ == Kind::kNumber && integral_; }

int64_t Value::as_int() const {
  if (kind_ != Kind::kNumber || !std::isfinite(d_)) return 0;
  if (d_ >= kInt64Limit) return INT64_MAX;
  if (d_ < -kInt64Limit) return INT64_MIN;
  return static_cast<int64_t>(d_);
}

std::string_view Value::as_string() const {
  if (kind_ != Kind::kString && kind_ != Kind::kError) return {};
  return std::string_view(static_cast<const char*>(ptr_), len_);
}

int64_t Value::as_millis() const {
  return kind_ == Kind::kTimestamp || kind_ == Kind::kDuration ? i_ : 0;
}

size_t Value::size() const {
  switch (kind_) {
    case Kind::kString: return len_;
    case Kind::kList:
      return form_ == Form::kOwned ? static_cast<const OwnedList*>(ptr_)->size()
                                   : static_cast<const boost::json::array*>(ptr_)->size();
    case Kind::kMap: return static_cast<const boost::json::object*>(ptr_)->size();
    default: return 0;
  }
}

Value Value::list_item(size_t i) const {
  if (kind_ != Kind::kList || i >= size()) return Null();
  if (form_ == Form::kOwned) return (*static_cast<const OwnedList*>(ptr_))[i];
  return FromJson((*static_cast<const boost::json::array*>(ptr_))[i]);
}

bool Value::list_contains(const Value& item) const {
  if (kind_ != Kind::kList) return false;
  if (form_ == Form::kOwned) {
    for (const Value& v : *static_cast<const OwnedList*>(ptr_)) {
      if (v == item) return true;
    }
    return false;
  }
  for (const boost::json::value& v : *static_cast<const boost::json::array*>(ptr_)) {
    if (FromJson(v) == item) return true;  // borrowed: builds no storage
  }
  return false;
}

Value Value::map_get(std::string_view key) const {
  if (kind_ != Kind::kMap) return Null();
  const boost::json::value* found = static_cast<const boost::json::object*>(ptr_)->if_contains(key);
  return found ? FromJson(*found) : Null();
}

bool Value::map_contains(std::string_view key) const {
  return kind_ == Kind::kMap && static_cast<const boost::json::object*>(ptr_)->contains(key);
}

boost::json::value Value::ToJson() const {
  switch (kind_) {
    case Kind::kNull:
    case Kind::kError: return nullptr;
    case Kind::kBool: return b_;
    case Kind::kNumber:
      if (integral_) return static_cast<int64_t>(d_);
      return d_;
    case Kind::kString: return boost::json::string(as_string());
    case Kind::kTimestamp: return boost::json::string(FormatTimestamp(i_));
    case Kind::kDuration: return boost::json::string(FormatDuration(i_));
    case Kind::kList: {
      if (form_ == Form::kBorrowed) return *static_cast<const boost::json::array*>(ptr_);
      boost::json::array out;
      const OwnedList& items = *static_cast<const OwnedList*>(ptr_);
      out.reserve(items.size());
      for (const Value& item : items) out.push_back(item.ToJson());
      return out;
    }
    case Kind::kMap: return *static_cast<const boost::json::object*>(ptr_);
  }
  return nullptr;
}

void Value::AppendRendering(std::string& out, bool nested) const {
  switch (kind_) {
    case Kind::kNull: out += "null"; return;
    case Kind::kBool: out += b_ ? "true" : "false"; return;
    case Kind::kNumber: AppendNumber(out, d_, integral_); return;
    case Kind::kString:
      if (nested) AppendQuoted(out, as_string());
      else out += as_string();
      return;
    case Kind::kTimestamp: out += FormatTimestamp(i_); return;
    case Kind::kDuration: out += FormatDuration(i_); return;
    case Kind::kError:
      out += "error: ";
      out += as_string();
      return;
    case Kind::kList:
      out += '[';
      for (size_t i = 0, n = size(); i < n; ++i) {
        if (i) out += ", ";
        list_item(i).AppendRendering(out, true);
      }
      out += ']';
      return;
    case Kind::kMap: {
      out += '{';
      bool first = true;
      for (const auto& kv : *static_cast<const boost::json::object*>(ptr_)) {
        if (!first) out += ", ";
        first = false;
        AppendQuoted(out, kv.key());
        out += ": ";
        FromJson(kv.value()).AppendRendering(out, true);
      }
      out += '}';
      return;
    }
  }
}

std::string Value::ToString() const {
  std::string out;
  AppendRendering(out, false);
  return out;
}

bool operator==(const Value& a, const Value& b) {
  using Kind = Value::Kind;
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case Kind::kNull: return true;
    case Kind::kBool: return a.b_ == b.b_;
    case Kind::kNumber: return a.d_ == b.d_;
    case Kind::kString: return a.as_string() == b.as_string();
    case Kind::kTimestamp:
    case Kind::kDuration: return a.i_ == b.i_;
    case Kind::kError: return false;  // an error equals nothing, not even itself
    case Kind::kList: {
      size_t n = a.size();
      if (n != b.size()) return false;
      for (size_t i = 0; i < n; ++i) {
        if (!(a.list_item(i) == b.list_item(i))) return false;
      }
      return true;
    }
    case Kind::kMap: {
      const auto& ao = *static_cast<const boost::json::object*>(a.ptr_);
      const auto& bo = *static_cast<const boost::json::object*>(b.ptr_);
      if (ao.size() != bo.size()) return false;
      for (const auto& kv : ao) {
        const boost::json::value* other = bo.if_contains(kv.key());
        if (!other || !(Value::FromJson(kv.value()) == Value::FromJson(*other))) return false;
      }
      return true;
    }
  }
  return false;
}

}  // namespace reach::dsl
