#include "server/event_request.h"

#include <algorithm>

#include <boost/json.hpp>

#include "common/time_util.h"
#include "dsl/time_zone.h"

namespace reach::server {
namespace json = boost::json;

namespace {

bool Fail(FieldError& error, std::string field, std::string message) {
  error = {std::move(field), std::move(message)};
  return false;
}

bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' || c == '-';
  });
}

bool ParseIdentities(const json::value& v, json::object& out, FieldError& error) {
  if (!v.is_object()) return Fail(error, "identities", "must be an object of kind -> id, e.g. {\"openid\": \"o6_b...\"}");
  for (const auto& kv : v.as_object()) {
    if (!ValidName(kv.key())) return Fail(error, "identities", "bad identity kind '" + std::string(kv.key()) + "'");
    if (!kv.value().is_string() || kv.value().as_string().empty() || kv.value().as_string().size() > 256)
      return Fail(error, "identities." + std::string(kv.key()), "must be a non-empty string of at most 256 characters");
    out[kv.key()] = kv.value();
  }
  return true;
}

}  // namespace

bool ParseEvent(const json::value& v, storage::EventRecord& event, json::object& identities, FieldError& error) {
  if (!v.is_object()) return Fail(error, "", "an event is a JSON object");
  const json::object& o = v.as_object();
  static const char* kKnown[] = {"type", "user_id", "identities", "properties", "timestamp", "message_id"};
  for (const auto& kv : o)
    if (std::none_of(std::begin(kKnown), std::end(kKnown), [&](const char* k) { return kv.key() == k; }))
      return Fail(error, std::string(kv.key()),
                  "unknown field (an event has type, user_id, identities, properties, timestamp, message_id)");
  const json::value* type = o.if_contains("type");
  if (!type) return Fail(error, "type", "is required");
  if (!type->is_string() || !ValidName(type->as_string()))
    return Fail(error, "type", "must be 1-128 characters of letters, digits, '_', '.', ':' or '-'");
  event.type = std::string(type->as_string());
  if (const json::value* u = o.if_contains("user_id")) {
    if (!u->is_string() || u->as_string().empty() || u->as_string().size() > 256)
      return Fail(error, "user_id", "must be a non-empty string of at most 256 characters");
    event.user_id = std::string(u->as_string());
  }
  if (const json::value* ids = o.if_contains("identities"))
    if (!ParseIdentities(*ids, identities, error)) return false;
  if (event.user_id.empty() && identities.empty())
    return Fail(error, "user_id", "is required (or identities, e.g. {\"openid\": \"...\"})");
  if (const json::value* p = o.if_contains("properties")) {
    if (!p->is_object()) return Fail(error, "properties", "must be an object");
    event.properties = p->as_object();
  }
  if (const json::value* t = o.if_contains("timestamp")) {
    if (t->is_string()) {
      auto ms = ParseTimestampMillis(t->as_string());
      if (!ms) return Fail(error, "timestamp", "must be an RFC 3339 time such as 2026-11-22T10:00:00+08:00");
      event.timestamp_ms = *ms;
    } else if (t->is_int64() || t->is_uint64()) {
      // Unix milliseconds from 1973-03-03 (1e11) to the end of 9999: a smaller number is most
      // likely Unix seconds (1700000000 would be 1970-01-20 in milliseconds), a larger one no
      // time a date can show.
      constexpr int64_t kMinMillis = 100'000'000'000, kMaxMillis = 253'402'300'799'999;
      const bool in_range = t->is_int64() && t->as_int64() >= kMinMillis && t->as_int64() <= kMaxMillis;
      if (!in_range && t->is_int64() && t->as_int64() > 0 && t->as_int64() < kMinMillis)
        return Fail(error, "timestamp",
                    "looks like Unix seconds; send Unix milliseconds (seconds * 1000) or an RFC 3339 string");
      if (!in_range) return Fail(error, "timestamp", "is out of range (Unix milliseconds up to year 9999)");
      event.timestamp_ms = t->as_int64();
    } else {
      return Fail(error, "timestamp", "must be an RFC 3339 string or Unix milliseconds");
    }
  }
  if (const json::value* m = o.if_contains("message_id")) {
    if (!m->is_string() || m->as_string().empty() || m->as_string().size() > 128)
      return Fail(error, "message_id", "must be a non-empty string of at most 128 characters");
    event.message_id = std::string(m->as_string());
  }
  return true;
}

bool ParseUserUpdate(const json::value& v, UserUpdate& u, FieldError& error) {
  if (!v.is_object()) return Fail(error, "", "a user update is a JSON object");
  const json::object& o = v.as_object();
  static const char* kKnown[] = {"id", "user_id", "identities", "traits", "tags", "timezone", "subscriptions"};
  for (const auto& kv : o)
    if (std::none_of(std::begin(kKnown), std::end(kKnown), [&](const char* k) { return kv.key() == k; }))
      return Fail(error, std::string(kv.key()),
                  "unknown field (a user update has id, identities, traits, tags, timezone, subscriptions)");
  for (const char* key : {"id", "user_id"})
    if (const json::value* id = o.if_contains(key)) {
      if (!id->is_string() || id->as_string().empty() || id->as_string().size() > 256)
        return Fail(error, key, "must be a non-empty string of at most 256 characters");
      u.id = std::string(id->as_string());
    }
  if (const json::value* ids = o.if_contains("identities"))
    if (!ParseIdentities(*ids, u.identities, error)) return false;
  if (u.id.empty() && u.identities.empty()) return Fail(error, "id", "is required (or identities)");
  if (const json::value* t = o.if_contains("traits")) {
    if (!t->is_object()) return Fail(error, "traits", "must be an object");
    u.traits = t->as_object();
  }
  auto tag_list = [&](const json::value& l, json::array& out, const std::string& field) {
    if (!l.is_array()) return Fail(error, field, "must be a list of tag names");
    for (const json::value& tag : l.as_array()) {
      if (!tag.is_string() || tag.as_string().empty() || tag.as_string().size() > 128)
        return Fail(error, field, "tags are non-empty strings of at most 128 characters");
      out.push_back(tag);
    }
    return true;
  };
  if (const json::value* t = o.if_contains("tags")) {
    if (t->is_array()) {
      u.replace_tags = true;
      if (!tag_list(*t, u.tags, "tags")) return false;
    } else if (t->is_object()) {
      for (const auto& kv : t->as_object()) {
        if (kv.key() == "add") {
          if (!tag_list(kv.value(), u.add_tags, "tags.add")) return false;
        } else if (kv.key() == "remove") {
          if (!tag_list(kv.value(), u.remove_tags, "tags.remove")) return false;
        } else {
          return Fail(error, "tags." + std::string(kv.key()), "unknown (use add and remove)");
        }
      }
    } else {
      return Fail(error, "tags", "must be a list (replaces the tags) or {\"add\": [...], \"remove\": [...]}");
    }
  }
  if (const json::value* tz = o.if_contains("timezone")) {
    if (!tz->is_string() || (!tz->as_string().empty() && !dsl::IsKnownTimeZone(std::string(tz->as_string()))))
      return Fail(error, "timezone", "must be an IANA time zone such as Asia/Shanghai");
    u.timezone = std::string(tz->as_string());
    u.has_timezone = true;
  }
  if (const json::value* s = o.if_contains("subscriptions")) {
    if (!s->is_object()) return Fail(error, "subscriptions", "must be an object of channel -> subscribed|unsubscribed");
    for (const auto& kv : s->as_object()) {
      if (!kv.value().is_string() ||
          (kv.value().as_string() != "subscribed" && kv.value().as_string() != "unsubscribed"))
        return Fail(error, "subscriptions." + std::string(kv.key()), "must be \"subscribed\" or \"unsubscribed\"");
    }
    u.subscriptions = s->as_object();
  }
  return true;
}

void ApplyUserUpdate(const UserUpdate& u, storage::UserRecord& user) {
  for (const auto& kv : u.traits) {
    if (kv.value().is_null()) user.traits.erase(kv.key());
    else user.traits[kv.key()] = kv.value();
  }
  auto has = [&](const json::value& tag) {
    return std::find(user.tags.begin(), user.tags.end(), tag) != user.tags.end();
  };
  if (u.replace_tags) {
    user.tags.clear();
    for (const json::value& t : u.tags)
      if (!has(t)) user.tags.push_back(t);
  }
  for (const json::value& t : u.add_tags)
    if (!has(t)) user.tags.push_back(t);
  for (const json::value& t : u.remove_tags) {
    auto it = std::find(user.tags.begin(), user.tags.end(), t);
    if (it != user.tags.end()) user.tags.erase(it);
  }
  if (u.has_timezone) user.timezone = u.timezone;
  for (const auto& kv : u.subscriptions) user.subscriptions[kv.key()] = kv.value();
}

}  // namespace reach::server
