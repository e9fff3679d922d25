// HttpServer on an ephemeral port with fake handlers, driven by a raw-socket client: round
// trips and keep-alive, the limits (body, header timeout, idle timeout, connections), malformed
// input, handlers answering later from other threads, and the graceful shutdown.
// Timeouts under test are set to a few hundred milliseconds; waits are bounded polls.

#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json.hpp>

#include "server/http_codec.h"
#include "server/http_server.h"
#include "server/http_test_client.h"

namespace reach::server {
namespace {

using namespace std::chrono_literals;
using testing::MakeRequest;
using testing::TestClient;
using Clock = std::chrono::steady_clock;

// Answers at once with what it saw.
class EchoHandler final : public RequestHandler {
 public:
  void Handle(HttpRequest request, Respond respond) override {
    calls.fetch_add(1);
    boost::json::object query;
    for (const auto& [k, v] : request.query) query[k] = v;
    boost::json::object seen{{"method", request.method},   {"path", request.path},
                             {"target", request.target},   {"body", request.body},
                             {"request_id", request.request_id}, {"query", query},
                             {"x_test", request.Header("x-test")}};
    respond(HttpResponse{200, "application/json", boost::json::serialize(seen), {{"X-Extra", "1"}}});
  }
  std::atomic<int> calls{0};
};

// Hands every request to a thread of its own, which waits for the gate (open by default),
// sleeps `delay` and answers 200 "late".
class LaterHandler final : public RequestHandler {
 public:
  explicit LaterHandler(std::chrono::milliseconds delay, bool gate_open = true)
      : delay_(delay), gate_open_(gate_open) {}
  ~LaterHandler() override {
    OpenGate();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mutex_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }
  void Handle(HttpRequest request, Respond respond) override {
    std::lock_guard lock(mutex_);
    ++calls_;
    cv_.notify_all();
    threads_.emplace_back([this, respond = std::move(respond)] {
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return gate_open_; });
      }
      std::this_thread::sleep_for(delay_);
      respond(HttpResponse{200, "text/plain", "late", {}});
    });
  }
  bool WaitCalls(int n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return calls_ >= n; });
  }
  void OpenGate() {
    std::lock_guard lock(mutex_);
    gate_open_ = true;
    cv_.notify_all();
  }

 private:
  const std::chrono::milliseconds delay_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool gate_open_;
  int calls_ = 0;
  std::vector<std::thread> threads_;
};

// Keeps every Respond without calling it.
class HoardingHandler final : public RequestHandler {
 public:
  void Handle(HttpRequest, Respond respond) override {
    std::lock_guard lock(mutex_);
    kept_.push_back(std::move(respond));
  }
  std::vector<Respond> Take() {
    std::lock_guard lock(mutex_);
    return std::move(kept_);
  }
  size_t count() {
    std::lock_guard lock(mutex_);
    return kept_.size();
  }

 private:
  std::mutex mutex_;
  std::vector<Respond> kept_;
};

class FunctionHandler final : public RequestHandler {
 public:
  explicit FunctionHandler(std::function<void(HttpRequest, Respond)> f) : f_(std::move(f)) {}
  void Handle(HttpRequest request, Respond respond) override { f_(std::move(request), std::move(respond)); }

 private:
  std::function<void(HttpRequest, Respond)> f_;
};

std::unique_ptr<HttpServer> StartServer(RequestHandler& handler, HttpServerOptions options = {}) {
  options.port = 0;
  auto server = std::make_unique<HttpServer>(std::move(options), handler);
  Status status = server->Start();
  EXPECT_TRUE(status.ok()) << status.ToString();
  EXPECT_NE(server->port(), 0);
  return server;
}

template <class F>
bool Eventually(F condition, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

boost::json::object ParseObject(const std::string& text) { return boost::json::parse(text).as_object(); }

TEST(HttpServer, RoundTrip_KeepsTheConnectionAliveAcrossRequests) {
  EchoHandler handler;
  auto server = StartServer(handler);
  TestClient client(server->port());
  ASSERT_TRUE(client.connected());

  ASSERT_TRUE(client.Send(MakeRequest("POST", "/v1/events", R"({"a":1})", "X-Test: yes\r\n")));
  auto first = client.ReadResponse();
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(first.Header("server"), "reach");
  EXPECT_EQ(first.Header("content-type"), "application/json");
  EXPECT_EQ(first.Header("x-extra"), "1");
  EXPECT_EQ(first.Header("content-length"), std::to_string(first.body.size()));
  auto seen = ParseObject(first.body);
  EXPECT_EQ(seen["method"], "POST");
  EXPECT_EQ(seen["path"], "/v1/events");
  EXPECT_EQ(seen["body"], R"({"a":1})");
  EXPECT_EQ(seen["x_test"], "yes");
  EXPECT_EQ(first.Header("x-request-id"), seen["request_id"].as_string().c_str());
  EXPECT_EQ(first.Header("x-request-id").size(), 15u);

  ASSERT_TRUE(client.Send(MakeRequest("GET", "/healthz")));
  auto second = client.ReadResponse();
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(ParseObject(second.body)["path"], "/healthz");
  EXPECT_EQ(handler.calls.load(), 2);
  EXPECT_EQ(server->active_connections(), 1u);  // both on the one connection
}

TEST(HttpServer, Request_PathAndQueryAreDecodedAndRequestIdIsEchoed) {
  EchoHandler handler;
  auto server = StartServer(handler);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(MakeRequest("GET", "/v1/a%20b/%41?user_id=u%2B1&name=x+y&flag&user_id=u2",
                                      {}, "X-Request-Id: abc.DEF_1-2\r\n")));
  auto response = client.ReadResponse();
  ASSERT_EQ(response.status, 200);
  auto seen = ParseObject(response.body);
  EXPECT_EQ(seen["path"], "/v1/a b/A");
  EXPECT_EQ(seen["target"], "/v1/a%20b/%41?user_id=u%2B1&name=x+y&flag&user_id=u2");
  auto query = seen["query"].as_object();
  EXPECT_EQ(query["user_id"], "u2");  // the last one wins
  EXPECT_EQ(query["name"], "x y");
  EXPECT_EQ(query["flag"], "");
  EXPECT_EQ(response.Header("x-request-id"), "abc.DEF_1-2");
}

TEST(HttpServer, Request_AnUnsafeRequestIdIsReplaced) {
  EchoHandler handler;
  auto server = StartServer(handler);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(MakeRequest("GET", "/", {}, "X-Request-Id: <script>\r\n")));
  auto response = client.ReadResponse();
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.Header("x-request-id").size(), 15u);
  EXPECT_NE(response.Header("x-request-id"), "<script>");
}

TEST(HttpServer, HeadRequest_GetsTheLengthButNoBody) {
  EchoHandler handler;
  auto server = StartServer(handler);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(MakeRequest("HEAD", "/v1/flows")));
  auto head = client.ReadResponse(5s, /*head=*/true);
  ASSERT_EQ(head.status, 200);
  EXPECT_NE(head.Header("content-length"), "0");
  ASSERT_TRUE(client.Send(MakeRequest("GET", "/next")));  // no stray body bytes came before it
  auto next = client.ReadResponse();
  ASSERT_EQ(next.status, 200);
  EXPECT_EQ(ParseObject(next.body)["path"], "/next");
}

TEST(HttpServer, BodyOverTheLimit_Answers413AndCloses) {
  EchoHandler handler;
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  auto server = StartServer(handler, options);
  TestClient client(server->port());
  // A Content-Length over the limit is refused from the header alone.
  ASSERT_TRUE(client.Send("POST /v1/events HTTP/1.1\r\nHost: t\r\nContent-Length: 4096\r\n\r\n" +
                          std::string(512, 'x')));
  auto response = client.ReadResponse();
  ASSERT_EQ(response.status, 413);
  EXPECT_EQ(response.body, R"({"error":"body too large","limit":1024})");
  EXPECT_EQ(response.Header("connection"), "close");
  EXPECT_TRUE(client.WaitClosed(3s));
  EXPECT_EQ(handler.calls.load(), 0);
}

TEST(HttpServer, ChunkedBodyOverTheLimit_Answers413) {
  EchoHandler handler;
  HttpServerOptions options;
  options.max_body_bytes = 16;
  auto server = StartServer(handler, options);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "20\r\n" + std::string(32, 'y') + "\r\n0\r\n\r\n"));
  EXPECT_EQ(client.ReadResponse().status, 413);
}

TEST(HttpServer, MalformedRequest_Answers400) {
  EchoHandler handler;
  auto server = StartServer(handler);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send("GET /x HTTP/1.1\r\nHost: t\r\nthis is not a header\r\n\r\n"));
  auto response = client.ReadResponse();
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.body, R"({"error":"bad request"})");
  EXPECT_TRUE(client.WaitClosed(3s));
}

TEST(HttpServer, BadPercentEscape_Answers400WithoutCallingTheHandler) {
  EchoHandler handler;
  auto server = StartServer(handler);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(MakeRequest("GET", "/v1/%zz")));
  EXPECT_EQ(client.ReadResponse().status, 400);
  EXPECT_EQ(handler.calls.load(), 0);
}

TEST(HttpServer, SlowClient_IsClosedAfterTheHeaderTimeout) {
  EchoHandler handler;
  HttpServerOptions options;
  options.header_timeout_ms = 200;
  auto server = StartServer(handler, options);
  TestClient client(server->port());
  const auto start = Clock::now();
  ASSERT_TRUE(client.Send("GET /slow HTTP/1.1\r\nHost: t\r\nX-Half: "));  // ...and stalls
  EXPECT_TRUE(client.WaitClosed(3s));
  const auto elapsed = Clock::now() - start;
  EXPECT_GE(elapsed, 150ms);
  EXPECT_LT(elapsed, 2s);
  EXPECT_TRUE(client.unread().empty()) << "no answer is expected, got: " << client.unread();
  EXPECT_EQ(handler.calls.load(), 0);
  EXPECT_TRUE(Eventually([&] { return server->in_flight_requests() == 0; }));
}

TEST(HttpServer, IdleKeptAliveConnection_IsClosedAfterTheIdleTimeout) {
  EchoHandler handler;
  HttpServerOptions options;
  options.idle_timeout_ms = 200;
  auto server = StartServer(handler, options);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(MakeRequest("GET", "/")));
  ASSERT_EQ(client.ReadResponse().status, 200);
  const auto start = Clock::now();
  EXPECT_TRUE(client.WaitClosed(3s));
  EXPECT_GE(Clock::now() - start, 150ms);
  EXPECT_TRUE(Eventually([&] { return server->active_connections() == 0; }));
}

TEST(HttpServer, ConnectionsOverTheLimit_Get503AndAreClosed) {
  EchoHandler handler;
  HttpServerOptions options;
  options.max_connections = 2;
  auto server = StartServer(handler, options);
  TestClient first(server->port()), second(server->port());
  for (TestClient* client : {&first, &second}) {  // a round trip proves each was accepted
    ASSERT_TRUE(client->Send(MakeRequest("GET", "/")));
    ASSERT_EQ(client->ReadResponse().status, 200);
  }
  TestClient third(server->port());
  ASSERT_TRUE(third.connected());
  auto refused = third.ReadResponse();
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.body, R"({"error":"too many connections"})");
  EXPECT_TRUE(third.WaitClosed(3s));
  // The two accepted connections are unaffected.
  ASSERT_TRUE(first.Send(MakeRequest("GET", "/again")));
  EXPECT_EQ(first.ReadResponse().status, 200);
}

TEST(HttpServer, HandlerRespondingLaterFromAnotherThread_IsWrittenOnTheConnection) {
  LaterHandler handler(50ms);
  HttpServerOptions options;
  options.io_threads = 2;
  auto server = StartServer(handler, options);
  TestClient client(server->port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client.Send(MakeRequest("GET", "/later")));
    auto response = client.ReadResponse();
    ASSERT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "late");
    EXPECT_EQ(response.Header("content-type"), "text/plain");
  }
}

// One io thread (the default) runs sessions on the io_context's executor, several run each on
// a strand: both must keep every connection's answers its own under concurrent clients.
TEST(HttpServer, ConcurrentClients_EachGetTheirOwnAnswersWithOneOrSeveralIoThreads) {
  for (int io_threads : {1, 3}) {
    EchoHandler handler;
    HttpServerOptions options;
    options.io_threads = io_threads;
    auto server = StartServer(handler, options);
    std::atomic<int> wrong{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < 8; ++c) {
      clients.emplace_back([&, c] {
        TestClient client(server->port());
        for (int i = 0; i < 25; ++i) {
          const std::string body = "client " + std::to_string(c) + " request " + std::to_string(i);
          if (!client.Send(MakeRequest("POST", "/echo", body))) {
            ++wrong;
            return;
          }
          auto response = client.ReadResponse();
          if (response.status != 200 || ParseObject(response.body)["body"] != boost::json::value(body)) ++wrong;
        }
      });
    }
    for (auto& t : clients) t.join();
    EXPECT_EQ(wrong.load(), 0) << "io_threads " << io_threads;
    EXPECT_EQ(handler.calls.load(), 8 * 25) << "io_threads " << io_threads;
  }
}

TEST(HttpServer, PipelinedRequests_AreAnsweredInOrderOneAtATime) {
  LaterHandler handler(20ms);
  auto server = StartServer(handler);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(MakeRequest("GET", "/1", {}, "X-Request-Id: one\r\n") +
                          MakeRequest("GET", "/2", {}, "X-Request-Id: two\r\n")));
  EXPECT_EQ(client.ReadResponse().Header("x-request-id"), "one");
  EXPECT_EQ(client.ReadResponse().Header("x-request-id"), "two");
}

TEST(HttpServer, ExpectContinue_GetsAnInterimResponseBeforeTheBody) {
  EchoHandler handler;
  auto server = StartServer(handler);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send("POST /v1/events HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                          "Expect: 100-continue\r\n\r\n"));
  EXPECT_EQ(client.ReadResponse().status, 100);
  ASSERT_TRUE(client.Send("hello"));
  auto response = client.ReadResponse();
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(ParseObject(response.body)["body"], "hello");
}

TEST(HttpServer, HandlerThatThrows_Answers500) {
  FunctionHandler handler([](HttpRequest, Respond) { throw std::runtime_error("boom"); });
  std::vector<std::string> logs;
  std::mutex logs_mutex;
  HttpServerOptions options;
  options.log = [&](std::string line) {
    std::lock_guard lock(logs_mutex);
    logs.push_back(std::move(line));
  };
  auto server = StartServer(handler, options);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(MakeRequest("GET", "/")));
  auto response = client.ReadResponse();
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(response.body, R"({"error":"internal error"})");
  std::lock_guard lock(logs_mutex);
  ASSERT_FALSE(logs.empty());
  EXPECT_NE(logs[0].find("boom"), std::string::npos);
}

TEST(HttpServer, HandlerThatDropsRespond_Answers500AndKeepsTheConnection) {
  FunctionHandler handler([](HttpRequest, Respond) {});
  auto server = StartServer(handler);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(MakeRequest("GET", "/")));
  auto response = client.ReadResponse();
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(response.body, R"({"error":"handler did not respond"})");
  ASSERT_TRUE(client.Send(MakeRequest("GET", "/")));
  EXPECT_EQ(client.ReadResponse().status, 500);
}

TEST(HttpServer, RespondCalledTwice_OnlyTheFirstAnswerIsSent) {
  FunctionHandler handler([](HttpRequest, Respond respond) {
    respond(HttpResponse{201, "text/plain", "first", {}});
    respond(HttpResponse{202, "text/plain", "second", {}});
  });
  auto server = StartServer(handler);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(MakeRequest("GET", "/")));
  EXPECT_EQ(client.ReadResponse().status, 201);
  ASSERT_TRUE(client.Send(MakeRequest("GET", "/")));
  auto next = client.ReadResponse();  // the second answer did not leak into the next request
  EXPECT_EQ(next.status, 201);
  EXPECT_EQ(next.body, "first");
}

TEST(HttpServer, OnResponse_IsCalledOncePerAnsweredRequest) {
  EchoHandler handler;
  std::mutex mutex;
  std::vector<std::pair<std::string, int>> seen;
  HttpServerOptions options;
  options.max_body_bytes = 8;
  options.on_response = [&](const HttpRequest& request, int status, double seconds) {
    std::lock_guard lock(mutex);
    seen.emplace_back(request.method + " " + request.path, status);
    EXPECT_GE(seconds, 0.0);
  };
  auto server = StartServer(handler, options);
  {
    TestClient client(server->port());
    ASSERT_TRUE(client.Send(MakeRequest("GET", "/a")));
    ASSERT_EQ(client.ReadResponse().status, 200);
    ASSERT_TRUE(client.Send(MakeRequest("POST", "/b", "far too long a body")));
    ASSERT_EQ(client.ReadResponse().status, 413);
  }
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard lock(mutex);
    return seen.size() == 2;
  }));
  std::lock_guard lock(mutex);
  EXPECT_EQ(seen[0], std::make_pair(std::string("GET /a"), 200));
  // Refused while reading the body: still counted under its method and path.
  EXPECT_EQ(seen[1], std::make_pair(std::string("POST /b"), 413));
}

TEST(HttpServer, Shutdown_DrainsTheRequestInFlightAndRefusesNewConnections) {
  LaterHandler later(100ms, /*gate_open=*/false);
  FunctionHandler handler([&](HttpRequest request, Respond respond) {
    if (request.path == "/fast") return respond(HttpResponse{200, "text/plain", "fast", {}});
    later.Handle(std::move(request), std::move(respond));
  });
  auto server = StartServer(handler);
  const uint16_t port = server->port();
  TestClient idle(port);  // kept alive between requests when the drain starts
  ASSERT_TRUE(idle.Send(MakeRequest("GET", "/fast")));
  ASSERT_EQ(idle.ReadResponse().status, 200);
  TestClient busy(port);
  ASSERT_TRUE(busy.Send(MakeRequest("POST", "/v1/events", "{}")));
  ASSERT_TRUE(later.WaitCalls(1));
  EXPECT_EQ(server->in_flight_requests(), 1u);

  Clock::time_point shutdown_done;
  const auto shutdown_start = Clock::now();
  std::thread stopper([&] {
    server->Shutdown(1s);
    shutdown_done = Clock::now();
  });
  // Intake stops at once and idle connections are closed, while the request is in flight.
  EXPECT_TRUE(Eventually([&] { return !TestClient(port).connected(); }, 1s));
  EXPECT_TRUE(idle.WaitClosed(1s));
  later.OpenGate();  // the handler answers 100 ms from now
  auto response = busy.ReadResponse();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "late");
  EXPECT_EQ(response.Header("connection"), "close");
  stopper.join();
  const auto took = shutdown_done - shutdown_start;
  EXPECT_GE(took, 100ms);
  EXPECT_LT(took, 1s);
  EXPECT_TRUE(busy.WaitClosed(2s));
  TestClient after(port);
  EXPECT_FALSE(after.connected());
  EXPECT_EQ(after.connect_errno(), ECONNREFUSED);
}

TEST(HttpServer, Shutdown_GivesUpOnARequestPastTheDrainAndALateRespondIsHarmless) {
  HoardingHandler handler;
  auto server = StartServer(handler);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(MakeRequest("GET", "/never")));
  ASSERT_TRUE(Eventually([&] { return handler.count() == 1; }));
  const auto start = Clock::now();
  server->Shutdown(100ms);
  const auto took = Clock::now() - start;
  EXPECT_GE(took, 100ms);
  EXPECT_LT(took, 2s);
  EXPECT_TRUE(client.WaitClosed(2s));
  server.reset();  // the server object is gone; the handler still holds a Respond
  for (auto& respond : handler.Take()) respond(HttpResponse{200, "text/plain", "too late", {}});
}

TEST(HttpServer, StopAccepting_LetsOpenConnectionsContinue) {
  EchoHandler handler;
  auto server = StartServer(handler);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(MakeRequest("GET", "/")));
  ASSERT_EQ(client.ReadResponse().status, 200);
  server->StopAccepting();
  EXPECT_FALSE(TestClient(server->port()).connected());
  ASSERT_TRUE(client.Send(MakeRequest("GET", "/still")));
  EXPECT_EQ(client.ReadResponse().status, 200);
}

TEST(HttpServer, Start_FailsWithIoErrorWhenThePortIsTaken) {
  EchoHandler handler;
  auto first = StartServer(handler);
  HttpServerOptions options;
  options.port = first->port();
  HttpServer second(options, handler);
  Status status = second.Start();
  EXPECT_EQ(status.code(), StatusCode::kIoError) << status.ToString();
}

// ---- The codec's text rules ------------------------------------------------------------------

// What Beast's own serializer writes for the response FormatResponse describes (the message the
// server built before FormatResponse replaced it): the reference FormatResponse must equal.
std::string BeastWire(HttpResponse response, const std::string& request_id, unsigned version, bool keep_alive,
                      bool head_request) {
  namespace http = boost::beast::http;
  http::response<http::string_body> out;
  out.version(version);
  int status = response.status;
  if (status < 100 || status > 599) status = 500;
  out.result(static_cast<unsigned>(status));
  out.set(http::field::server, "reach");
  auto has_crlf = [](const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; };
  if (!has_crlf(response.content_type)) out.set(http::field::content_type, response.content_type);
  out.set("X-Request-Id", request_id);
  for (auto& [name, value] : response.headers) {
    std::string lower;
    for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name.empty() || has_crlf(name) || has_crlf(value) || lower == "content-length" ||
        lower == "transfer-encoding" || lower == "connection" || lower == "content-type" || lower == "server" ||
        lower == "x-request-id")
      continue;
    out.insert(name, value);
  }
  out.keep_alive(keep_alive);
  if (head_request) {
    out.content_length(response.body.size());
  } else {
    out.body() = std::move(response.body);
    out.prepare_payload();
  }
  std::ostringstream wire;
  wire << out;
  return wire.str();
}

TEST(HttpCodec, FormatResponse_WritesWhatBeastWrites) {
  struct Case {
    HttpResponse response;
    unsigned version;
    bool keep_alive;
    bool head;
  };
  const std::vector<Case> cases = {
      {{202, "application/json", R"({"event_id":"e1"})", {}}, 11, true, false},
      {{400, "application/json", R"({"error":"bad"})", {}}, 11, false, false},
      {{200, "text/plain", "ok", {}}, 10, true, false},
      {{200, "text/plain", "ok", {}}, 10, false, false},
      {{200, "application/json", "[1,2,3]", {}}, 11, true, true},
      {{503, "application/json", "{}", {{"Retry-After", "5"}, {"content-length", "99"}, {"X-Bad\r\nName", "v"},
                                         {"X-Value", "a\r\nb"}, {"", "empty"}, {"SERVER", "other"},
                                         {"Connection", "keep-alive"}, {"X-Extra", "1"}}},
       11, true, false},
      {{200, "text/plain\r\nX-Injected: 1", "body", {}}, 11, true, false},
      {{42, "application/json", "{}", {}}, 11, true, false},
      {{299, "", "", {}}, 11, true, false},
      {{201, "application/json", std::string(100000, 'x'), {}}, 11, false, false},
  };
  std::string out = "left over from the last response";
  for (const Case& c : cases) {
    FormatResponse(HttpResponse(c.response), "req-1", c.version, c.keep_alive, c.head, out);
    EXPECT_EQ(out, BeastWire(c.response, "req-1", c.version, c.keep_alive, c.head))
        << "status " << c.response.status << " version " << c.version << " keep_alive " << c.keep_alive;
  }
}

TEST(HttpCodec, FormatResponse_BodilessStatusesGetNoBodyNorLength) {
  std::string out;
  for (int status : {204, 304}) {
    FormatResponse(HttpResponse{status, "application/json", "{\"dropped\":true}", {}}, "r", 11, true, false, out);
    EXPECT_EQ(out.find("Content-Length"), std::string::npos) << out;
    EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n") << out;
  }
  // Here (only) it differs from Beast 1.81, which writes "Content-Length: 0" for a 204: RFC 9110
  // section 8.6 says a server must not send Content-Length in a 1xx or 204 response.
  FormatResponse(HttpResponse{204, "application/json", "", {}}, "r", 11, true, false, out);
  EXPECT_EQ(out, "HTTP/1.1 204 No Content\r\nServer: reach\r\nContent-Type: application/json\r\nX-Request-Id: r\r\n\r\n");
  // A handler's answer is final: an interim status would leave the client waiting for another.
  FormatResponse(HttpResponse{101, "application/json", "{}", {}}, "r", 11, true, false, out);
  EXPECT_EQ(out.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("Content-Length: 2\r\n"), std::string::npos) << out;
}

TEST(HttpCodec, FormatResponse_LeavesOutHeadersThatAreNotWellFormed) {
  std::string out;
  const std::string nul_value("a\0b", 3);
  FormatResponse(HttpResponse{200, std::string("text/plain\0", 11), "ok",
                              {{"Content-Length:", "99"},
                               {"X Space", "1"},
                               {"X-Nul", nul_value},
                               {"X-Bell", "ring\a"},
                               {"X-Tab", "a\tb"},
                               {"X-Fine", "yes"}}},
                 "r", 11, true, false, out);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nServer: reach\r\nX-Request-Id: r\r\nX-Tab: a\tb\r\nX-Fine: yes\r\n"
            "Content-Length: 2\r\n\r\nok");
}

TEST(HttpServer, HeadRequestRefusedForItsTarget_GetsAnAnswerWithoutBody) {
  EchoHandler handler;
  auto server = StartServer(handler);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send("HEAD /a%zz HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto response = client.ReadResponse(std::chrono::seconds(5), /*head_request=*/true);
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.Header("content-length"), "0");  // the size a GET would have had
  EXPECT_TRUE(client.WaitClosed(std::chrono::seconds(3)));
  EXPECT_EQ(client.unread(), "");  // no body bytes after the header block
  EXPECT_EQ(handler.calls.load(), 0);
}

TEST(HttpCodec, PercentDecode_HandlesEscapesPlusAndErrors) {
  std::string out;
  EXPECT_TRUE(PercentDecode("a%2Fb%2fc+d", false, out));
  EXPECT_EQ(out, "a/b/c+d");
  EXPECT_TRUE(PercentDecode("c+d%20e", true, out));
  EXPECT_EQ(out, "c d e");
  EXPECT_FALSE(PercentDecode("%4", false, out));
  EXPECT_FALSE(PercentDecode("%g1", false, out));
  EXPECT_FALSE(PercentDecode("a%00b", false, out));  // an escaped NUL is refused
}

TEST(HttpCodec, PathSegments_SplitBeforeDecodingAndRefuseEmptySegments) {
  std::vector<std::string> seg;
  ASSERT_TRUE(PathSegments("/v1/users/a%2Fb?x=1#f", seg));
  EXPECT_EQ(seg, (std::vector<std::string>{"v1", "users", "a/b"}));  // the encoded '/' stays inside
  ASSERT_TRUE(PathSegments("/v1/flows/%E6%98%A5:pause", seg));
  EXPECT_EQ(seg, (std::vector<std::string>{"v1", "flows", "\xe6\x98\xa5:pause"}));
  ASSERT_TRUE(PathSegments("http://example.test/healthz", seg));  // absolute-form
  EXPECT_EQ(seg, (std::vector<std::string>{"healthz"}));
  ASSERT_TRUE(PathSegments("/", seg));
  EXPECT_TRUE(seg.empty());
  EXPECT_FALSE(PathSegments("/v1//events", seg));
  EXPECT_FALSE(PathSegments("/v1/events/", seg));
  EXPECT_FALSE(PathSegments("//v1/events", seg));
  EXPECT_FALSE(PathSegments("/v1/a%zz", seg));
  EXPECT_FALSE(PathSegments("v1/events", seg));
}

TEST(HttpCodec, RequestIds_AcceptOnlyShortSafeTokens) {
  EXPECT_TRUE(IsValidRequestId("a.B_c-9"));
  EXPECT_TRUE(IsValidRequestId(std::string(64, 'x')));
  EXPECT_FALSE(IsValidRequestId(std::string(65, 'x')));
  EXPECT_FALSE(IsValidRequestId(""));
  EXPECT_FALSE(IsValidRequestId("a b"));
  EXPECT_FALSE(IsValidRequestId("a\r\nb"));
  const std::string id = NewRequestId();
  EXPECT_EQ(id.size(), 15u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(id, NewRequestId());
}

}  // namespace
}  // namespace reach::server
