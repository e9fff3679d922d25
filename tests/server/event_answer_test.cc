// EventAnswer writes the body of POST /v1/events directly; it must be what serializing the
// equivalent Boost.JSON object gives, byte for byte (clients and the README's curls read it).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "engine/engine.h"
#include "server/api_handler.h"

namespace reach::server {
namespace {

namespace json = boost::json;

std::string Oracle(const engine::EventOutcome& out, const std::string& message_id) {
  json::object o{{"id", std::to_string(out.seq)}};
  if (!message_id.empty()) o["message_id"] = message_id;
  o["status"] = out.duplicate ? "duplicate" : "accepted";
  if (!out.duplicate) {
    json::array started, resumed;
    for (int64_t id : out.started) started.push_back(json::value(std::to_string(id)));
    for (int64_t id : out.resumed) resumed.push_back(json::value(std::to_string(id)));
    o["started"] = std::move(started);
    o["resumed"] = std::move(resumed);
  }
  return json::serialize(o);
}

TEST(EventAnswer, IsTheSerializedObjectByteForByte) {
  const std::vector<std::string> message_ids = {
      "", "m-1", "quote \" backslash \\ slash /", "控制\x01\x1f tab\t newline\n", "\xe2\x82\xac euro"};
  const std::vector<std::vector<int64_t>> lists = {{}, {7}, {1, 22, 9007199254740993}};
  for (const std::string& mid : message_ids) {
    for (bool duplicate : {false, true}) {
      for (const auto& started : lists) {
        for (const auto& resumed : lists) {
          engine::EventOutcome out;
          out.seq = 123456789012;
          out.duplicate = duplicate;
          out.started = started;
          out.resumed = resumed;
          const std::string body = EventAnswer(out, mid);
          EXPECT_EQ(body, Oracle(out, mid));
          EXPECT_TRUE(json::parse(body).is_object()) << body;
        }
      }
    }
  }
}

}  // namespace
}  // namespace reach::server
