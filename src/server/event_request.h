#pragma once
// Validation of what integrators send: events (`POST /v1/events`, `:batch`) and profile updates
// (`POST /v1/users`). A bad request is refused with the field and the reason, before anything
// is written.
//
// An event:
//   {"type": "form_submitted",                  required; 1-128 of [A-Za-z0-9_.:-]
//    "user_id": "u1",                           this, or
//    "identities": {"openid": "o6_b..."},       this (kind -> string), or both
//    "properties": {...},                       optional object
//    "timestamp": "2026-11-22T10:00:00+08:00",  optional: RFC 3339, or Unix milliseconds
//                                               (1e11 to the end of year 9999: less is taken
//                                               for seconds and refused)
//    "message_id": "m-123"}                     optional idempotency key, 1-128 chars

#include <string>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "storage/records.h"

namespace reach::server {

struct FieldError {
  std::string field;    // "type", "properties", "events[3].user_id", "" for the whole body
  std::string message;  // what is wrong, for a person
};

// Parses one event. On failure returns false and sets `error`.
bool ParseEvent(const boost::json::value& json, storage::EventRecord& event, boost::json::object& identities,
                FieldError& error);

// A profile update: {"id" | "identities", "traits": {merge; null deletes}, "tags": [replace] or
// {"add": [...], "remove": [...]}, "timezone", "subscriptions": {channel: "subscribed" |
// "unsubscribed"}}.
struct UserUpdate {
  std::string id;
  boost::json::object identities;
  boost::json::object traits;
  bool replace_tags = false;
  boost::json::array tags;          // replace_tags: the new list
  boost::json::array add_tags, remove_tags;
  std::string timezone;
  bool has_timezone = false;
  boost::json::object subscriptions;
};
bool ParseUserUpdate(const boost::json::value& json, UserUpdate& update, FieldError& error);
// Applies `update` to `user` (traits merged, null deleting a trait).
void ApplyUserUpdate(const UserUpdate& update, storage::UserRecord& user);

}  // namespace reach::server
