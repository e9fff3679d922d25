#pragma once
// The HTTP request and response as the handlers see them: plain structs, no Beast, so that
// handlers are functions from request to response that tests call without a socket.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace reach::server {

struct HttpRequest {
  std::string method;                       // "GET", "POST", ...
  std::string target;                       // as sent: "/v1/executions?user_id=u1"
  std::string path;                         // decoded path without the query: "/v1/executions"
  std::map<std::string, std::string> query; // decoded query parameters (last one wins)
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string remote;                       // peer address "127.0.0.1:50312"
  std::string request_id;                   // X-Request-Id if sent (sanitised), else generated
  std::string error_body;                   // for on_response: the body of a 5xx answer, else ""

  // The first header named `name` (lower-case), or "".
  std::string_view Header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return v;
    return {};
  }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// Called exactly once per request, from any thread.
using Respond = std::function<void(HttpResponse)>;

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // Must not block on I/O (SQLite, network): long work is handed to other threads, which call
  // `respond` when done.
  virtual void Handle(HttpRequest request, Respond respond) = 0;
};

}  // namespace reach::server
