#include "server/api_handler.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include "common/time_util.h"
#include "dsl/flow_compiler.h"
#include "dsl/yaml_doc.h"
#include "server/auth.h"
#include "server/event_request.h"
#include "server/http_codec.h"

namespace reach::server {

namespace json = boost::json;
using storage::ExecutionRecord;

HttpResponse JsonError(int status, const std::string& message, const std::string& field) {
  json::object o{{"error", message}};
  if (!field.empty()) o["field"] = field;
  return {status, "application/json", json::serialize(o), {}};
}

// The answer to an event, as json::serialize would write {"id", "message_id" (when given),
// "status", and when accepted "started" and "resumed"}: written directly, since every event
// is answered with it (building and serializing the object cost about six times as much).
std::string EventAnswer(const engine::EventOutcome& out, const std::string& message_id) {
  std::string body;
  body.reserve(64 + message_id.size() + 24 * (out.started.size() + out.resumed.size()));
  body += R"({"id":")";
  body += std::to_string(out.seq);
  body += '"';
  if (!message_id.empty()) {
    body += R"(,"message_id":)";
    body += json::serialize(json::string_view(message_id));
  }
  if (out.duplicate) {
    body += R"(,"status":"duplicate"})";
    return body;
  }
  body += R"(,"status":"accepted")";
  auto ids = [&body](const char* key, const std::vector<int64_t>& list) {
    body += key;
    for (size_t i = 0; i < list.size(); ++i) {
      body += i ? R"(,")" : R"(")";
      body += std::to_string(list[i]);
      body += '"';
    }
    body += ']';
  };
  ids(R"(,"started":[)", out.started);
  ids(R"(,"resumed":[)", out.resumed);
  body += '}';
  return body;
}

namespace {

// reach_events_total {result: accepted|duplicate|rejected} (registered once, found after).
CounterFamily& EventsFamily(MetricsRegistry& metrics) {
  return metrics.AddCounter("reach_events_total", "Events received, by result", {"result"});
}

HttpResponse Json(int status, const json::value& v) { return {status, "application/json", json::serialize(v), {}}; }

int HttpStatusFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kFailedPrecondition: return 409;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kAborted: return 409;
    default: return 500;
  }
}

HttpResponse FromStatus(const Status& s) { return JsonError(HttpStatusFor(s), s.message()); }

std::string Time(int64_t ms) { return ms ? FormatTimestamp(ms) : std::string(); }

json::object ExecutionJson(const ExecutionRecord& e, bool full) {
  json::object o;
  o["id"] = std::to_string(e.id);
  o["flow"] = e.flow;
  o["chain"] = e.chain;
  o["version"] = e.chain_version;
  o["user_id"] = e.user_id;
  o["status"] = storage::ExecutionStatusName(e.status);
  o["trace"] = e.trace;
  if (!e.error.empty()) o["error"] = e.error;
  if (!e.entry_key.empty()) o["entry_key"] = e.entry_key;
  o["created_at"] = Time(e.created_ms);
  o["updated_at"] = Time(e.updated_ms);
  if (e.finished_ms) o["finished_at"] = Time(e.finished_ms);
  if (!e.request_id.empty()) o["request_id"] = e.request_id;
  // Stored JSON that does not parse (the fields it names are shown empty): the row is listed
  // and can be cancelled; the engine cannot run it.
  if (!e.unreadable.empty()) o["unreadable"] = e.unreadable;
  if (full) {
    o["ctx"] = e.ctx;
    o["event"] = e.event;
    const json::value* root = e.state.if_contains("root");
    o["position"] = root ? *root : json::value(nullptr);
    o["set_version"] = e.set_version;
  }
  return o;
}

json::object UserJsonOut(const storage::UserRecord& u) {
  return {{"id", u.id},          {"traits", u.traits},
          {"tags", u.tags},      {"timezone", u.timezone},
          {"identities", u.identities}, {"subscriptions", u.subscriptions},
          {"created_at", Time(u.created_ms)}, {"updated_at", Time(u.updated_ms)}};
}

bool ParseId(const std::string& s, int64_t& id) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
  return ec == std::errc() && p == s.data() + s.size() && id > 0;
}

// A number too large for a double (`1e999`) parses as infinity, which JSON cannot write back
// (it would be stored as text no parser reads, and every later read of the row would fail): true
// when `v` holds one, with `path` naming where ("traits.score", "events[3].properties.x").
bool NonFiniteNumberAt(const json::value& v, std::string& path) {
  auto prefix = [&path](std::string head) {
    if (!path.empty() && path[0] != '[') head += '.';
    path.insert(0, head);
  };
  switch (v.kind()) {
    case json::kind::double_:
      return !std::isfinite(v.get_double());
    case json::kind::object:
      for (const auto& kv : v.get_object())
        if (NonFiniteNumberAt(kv.value(), path)) {
          prefix(std::string(kv.key()));
          return true;
        }
      return false;
    case json::kind::array: {
      const json::array& a = v.get_array();
      for (size_t i = 0; i < a.size(); ++i)
        if (NonFiniteNumberAt(a[i], path)) {
          prefix("[" + std::to_string(i) + "]");
          return true;
        }
      return false;
    }
    default:
      return false;
  }
}

// Bodies up to this size are parsed by a parser kept per io thread; a parser keeps the
// buffers its largest document needed (a 1 MiB array left 12.6 MB), so larger ones get a
// parser of their own.
constexpr size_t kReusedParserMaxBody = 64 << 10;

// Parses the body into `out`, whose values use `storage` (which should be out's own: a value
// moved into one of another storage is copied). One parser per io thread, reused for bodies up
// to kReusedParserMaxBody (json::parse builds one, with its own buffers, per call).
// `check_numbers`: refuse a number beyond a double anywhere in the body (the batch route checks
// each event instead, so that one such event is rejected alone).
bool ParseBody(const HttpRequest& req, json::value& out, Respond& respond,
               json::storage_ptr storage = json::storage_ptr(), bool check_numbers = true) {
  boost::system::error_code ec;
  if (req.body.size() <= kReusedParserMaxBody) {
    thread_local json::parser parser;
    parser.reset(std::move(storage));
    // Let go of the storage on every way out (it may not outlive this call), a throw included.
    struct Release {
      json::parser& p;
      ~Release() { p.reset(); }
    } release{parser};
    parser.write(req.body, ec);
    if (!ec) out = parser.release();
  } else {
    out = json::parse(req.body, ec, std::move(storage));
  }
  if (ec) {
    respond(JsonError(400, "body is not valid JSON: " + ec.message()));
    return false;
  }
  std::string where;
  if (check_numbers && NonFiniteNumberAt(out, where)) {
    respond(JsonError(400, where + ": number is out of range (beyond what a double holds)", where));
    return false;
  }
  return true;
}

// A name the API may file a flow under (api/NAME.yaml in the flow set): not a path.
bool ValidApiFlowName(const std::string& name) {
  if (name.empty() || name.size() > 128 || name[0] == '.') return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return c == '/' || c == '\\' || u < 0x20 || u == 0x7f;
  });
}

// "name:verb" -> ("name", "verb"); no colon -> ("name", "").
std::pair<std::string, std::string> SplitVerb(const std::string& s) {
  size_t c = s.rfind(':');
  if (c == std::string::npos) return {s, ""};
  return {s.substr(0, c), s.substr(c + 1)};
}

}  // namespace

ApiHandler::ApiHandler(ApiOptions options, storage::Store& store, engine::Engine& engine,
                       engine::EngineService& service, const engine::Clock& clock, MetricsRegistry& metrics)
    : options_(std::move(options)),
      store_(store),
      engine_(engine),
      service_(service),
      clock_(clock),
      metrics_(metrics),
      events_accepted_(EventsFamily(metrics).WithLabels({"accepted"})),
      events_duplicate_(EventsFamily(metrics).WithLabels({"duplicate"})),
      events_rejected_(EventsFamily(metrics).WithLabels({"rejected"})),
      readers_(std::make_unique<boost::asio::thread_pool>(std::max(1, options_.reader_threads))) {}

ApiHandler::~ApiHandler() { readers_->join(); }

void ApiHandler::OnReader(std::function<void()> work) { boost::asio::post(*readers_, std::move(work)); }

bool ApiHandler::Authorized(const HttpRequest& req, bool allow_signature, std::string& why) const {
  if (options_.api_keys.empty() && options_.webhook_secret.empty()) return true;
  if (!options_.api_keys.empty() && CheckBearer(req.Header("authorization"), options_.api_keys)) return true;
  if (allow_signature && !options_.webhook_secret.empty()) {
    std::string_view sig = req.Header("x-reach-signature");
    if (!sig.empty()) {
      // What was wrong with a signature is said (as webhook providers do): it tells the sender
      // which of clock, recipe or secret to look at, and nothing about the secret.
      switch (VerifySignature(sig, req.body, options_.webhook_secret, clock_.NowMillis() / 1000,
                              options_.signature_window_seconds)) {
        case SignatureCheck::kOk:
          return true;
        case SignatureCheck::kExpired:
          why = "X-Reach-Signature: t is more than " + std::to_string(options_.signature_window_seconds) +
                " s away from the server's clock (Unix seconds; check the sender's clock, or a replay)";
          return false;
        case SignatureCheck::kMismatch:
          why = "X-Reach-Signature: no v1 matches HMAC-SHA256(secret, t + \".\" + body) (the secret, or the body as signed)";
          return false;
        default:
          why = "X-Reach-Signature: malformed (expected t=<Unix seconds>,v1=<64 hex digits>)";
          return false;
      }
    }
  }
  return options_.api_keys.empty() && !allow_signature;
}

void ApiHandler::Handle(HttpRequest request, Respond respond) {
  try {
    Route(request, respond);
  } catch (const std::exception& e) {
    respond(JsonError(500, std::string("internal error: ") + e.what()));
  }
}

namespace {

// Every route, by what the path and method select. The one place that knows which paths and
// methods exist: Route dispatches on it, and a path that matches under another method is a 405
// with the methods it has (Allow) instead of a 404.
enum class RouteId {
  kNone, kHealthz, kReadyz, kMetrics, kPostEvent, kPostEventBatch, kPostUser, kGetUser, kListFlows,
  kDeployFlow, kValidateNamedFlow, kDeployNamedFlow, kPauseFlow, kResumeFlow, kFlowStats,
  kListExecutions, kGetExecution, kCancelExecution, kPostRuns,
};

RouteId MatchRoute(const std::vector<std::string>& seg, const std::string& m) {
  const bool get = m == "GET", post = m == "POST";
  if (seg.size() == 1) {
    if (seg[0] == "healthz") return get ? RouteId::kHealthz : RouteId::kNone;
    if (seg[0] == "readyz") return get ? RouteId::kReadyz : RouteId::kNone;
    if (seg[0] == "metrics") return get ? RouteId::kMetrics : RouteId::kNone;
  }
  if (seg.empty() || seg[0] != "v1") return RouteId::kNone;
  if (seg.size() == 2) {
    if (seg[1] == "events") return post ? RouteId::kPostEvent : RouteId::kNone;
    if (seg[1] == "events:batch") return post ? RouteId::kPostEventBatch : RouteId::kNone;
    if (seg[1] == "users") return post ? RouteId::kPostUser : RouteId::kNone;
    if (seg[1] == "flows") return get ? RouteId::kListFlows : post ? RouteId::kDeployFlow : RouteId::kNone;
    if (seg[1] == "executions") return get ? RouteId::kListExecutions : RouteId::kNone;
    if (seg[1] == "runs") return post ? RouteId::kPostRuns : RouteId::kNone;
  }
  if (seg.size() == 3 && seg[1] == "users") return get ? RouteId::kGetUser : RouteId::kNone;
  if (seg.size() == 3 && seg[1] == "flows") {
    const std::string verb = SplitVerb(seg[2]).second;
    if (!post) return RouteId::kNone;
    if (verb == "validate") return RouteId::kValidateNamedFlow;
    if (verb == "deploy") return RouteId::kDeployNamedFlow;
    if (verb == "pause") return RouteId::kPauseFlow;
    if (verb == "resume") return RouteId::kResumeFlow;
  }
  if (seg.size() == 4 && seg[1] == "flows" && seg[3] == "stats") return get ? RouteId::kFlowStats : RouteId::kNone;
  if (seg.size() == 3 && seg[1] == "executions") {
    const std::string verb = SplitVerb(seg[2]).second;
    if (verb.empty()) return get ? RouteId::kGetExecution : RouteId::kNone;
    if (verb == "cancel") return post ? RouteId::kCancelExecution : RouteId::kNone;
  }
  return RouteId::kNone;
}

}  // namespace

void ApiHandler::Route(HttpRequest& req, Respond& respond) {
  // HEAD is GET without the body (RFC 9110 section 9.3.2): routed as GET; the session sends the
  // headers and the Content-Length and drops the body (`curl -I /healthz`).
  static const std::string kGet = "GET", kPost = "POST";
  const std::string& m = req.method == "HEAD" ? kGet : req.method;
  // Segments split before decoding (an id may hold "%2F"); a path with an empty segment
  // ("/v1//events", "/v1/events/") is no route's.
  std::vector<std::string> seg;
  seg.reserve(4);  // the longest route's segments: one allocation, not one per growth step
  if (!PathSegments(req.target, seg)) return respond(JsonError(404, "no such route: " + m + " " + req.path));
  const RouteId route = MatchRoute(seg, m);
  if (route == RouteId::kNone) {
    // The path exists under other methods: 405 naming them (before authentication, which
    // would not change the answer).
    const bool has_get = MatchRoute(seg, kGet) != RouteId::kNone, has_post = MatchRoute(seg, kPost) != RouteId::kNone;
    if (has_get || has_post) {
      HttpResponse r = JsonError(405, "method " + req.method + " not allowed on " + req.path);
      r.headers.emplace_back("Allow", has_get && has_post ? "GET, HEAD, POST" : has_get ? "GET, HEAD" : "POST");
      return respond(std::move(r));
    }
    return respond(JsonError(404, "no such route: " + m + " " + req.path));
  }
  switch (route) {
    case RouteId::kHealthz:
      return respond(Json(200, {{"status", "ok"}}));
    case RouteId::kReadyz: {
      Status h = store_.health();
      bool ok = ready_ && h.ok() && !draining_;
      json::object o{{"ready", ok}, {"flows_loaded", ready_.load()}, {"store", h.ok() ? "ok" : h.message()}};
      if (draining_) o["draining"] = true;
      return respond(Json(ok ? 200 : 503, o));
    }
    case RouteId::kMetrics:
      return Metrics(std::move(respond));
    default:
      break;
  }

  bool is_event_route = route == RouteId::kPostEvent || route == RouteId::kPostEventBatch;
  if (std::string why; !Authorized(req, is_event_route, why)) {
    HttpResponse r = JsonError(401, !why.empty() ? why
                                                 : "missing or bad credentials (Authorization: Bearer <key>" +
                                                       std::string(is_event_route && !options_.webhook_secret.empty()
                                                                       ? " or X-Reach-Signature"
                                                                       : "") +
                                                       ")");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    if (is_event_route) events_rejected_.Inc();
    return respond(std::move(r));
  }
  switch (route) {
    case RouteId::kPostEvent:
      return PostEvent(req, std::move(respond));
    case RouteId::kPostEventBatch:
      return PostEventBatch(req, std::move(respond));
    case RouteId::kPostUser:
      return PostUser(req, std::move(respond));
    case RouteId::kGetUser:
      return GetUser(seg[2], std::move(respond));
    case RouteId::kListFlows:
      return ListFlows(std::move(respond));
    case RouteId::kDeployFlow:
      return DeployFlow(req, req.query.count("name") ? req.query["name"] : "", false, std::move(respond));
    case RouteId::kValidateNamedFlow:
      return DeployFlow(req, SplitVerb(seg[2]).first, true, std::move(respond));
    case RouteId::kDeployNamedFlow:
      return DeployFlow(req, SplitVerb(seg[2]).first, false, std::move(respond));
    case RouteId::kPauseFlow:
      return PauseFlow(SplitVerb(seg[2]).first, true, std::move(respond));
    case RouteId::kResumeFlow:
      return PauseFlow(SplitVerb(seg[2]).first, false, std::move(respond));
    case RouteId::kFlowStats:
      return FlowStats(seg[2], std::move(respond));
    case RouteId::kListExecutions:
      return ListExecutions(req, std::move(respond));
    case RouteId::kGetExecution:
      return GetExecution(SplitVerb(seg[2]).first, std::move(respond));
    case RouteId::kCancelExecution:
      return CancelExecution(SplitVerb(seg[2]).first, std::move(respond));
    case RouteId::kPostRuns:
      return PostRuns(req, std::move(respond));
    default:
      return respond(JsonError(404, "no such route: " + m + " " + req.path));
  }
}

void ApiHandler::PostEvent(HttpRequest& req, Respond respond) {
  if (draining_) return respond(JsonError(503, "shutting down; send again later"));
  // The parsed body lives only for this call (ParseEvent copies what the event keeps): its
  // values go to a buffer on the stack instead of an allocation each (an event of a few
  // hundred bytes parses into well under 4 KiB; a larger one continues on the heap).
  unsigned char scratch[4096];
  json::monotonic_resource arena(scratch, sizeof scratch);
  json::value body(&arena);  // the parser's storage: moving its result here moves, not copies
  if (!ParseBody(req, body, respond, &arena)) {
    events_rejected_.Inc();
    return;
  }
  storage::EventRecord event;
  json::object identities;
  FieldError error;
  if (!ParseEvent(body, event, identities, error)) {
    events_rejected_.Inc();
    return respond(JsonError(400, error.field.empty() ? error.message : error.field + ": " + error.message, error.field));
  }
  event.request_id = req.request_id;
  event.received_ms = clock_.NowMillis();
  std::string message_id = event.message_id;
  // Moved into the callback, not copied (each copy an allocation per event).
  service_.SubmitEvent(std::move(event), std::move(identities),
                       [this, respond = std::move(respond), message_id = std::move(message_id)](
                           const Status& s, const engine::EventOutcome& out) {
                         if (!s.ok()) {
                           events_rejected_.Inc();
                           return respond(FromStatus(s));
                         }
                         (out.duplicate ? events_duplicate_ : events_accepted_).Inc();
                         respond({out.duplicate ? 200 : 202, "application/json", EventAnswer(out, message_id), {}});
                       });
}

void ApiHandler::PostEventBatch(HttpRequest& req, Respond respond) {
  if (draining_) return respond(JsonError(503, "shutting down; send again later"));
  json::value body;
  if (!ParseBody(req, body, respond, json::storage_ptr(), /*check_numbers=*/false)) return;
  const json::array* events = nullptr;
  if (body.is_object() && body.as_object().contains("events") && body.as_object().at("events").is_array()) {
    for (const auto& kv : body.as_object())
      if (kv.key() != "events")
        return respond(JsonError(400, std::string(kv.key()) + ": unknown field (a batch is {\"events\": [...]})",
                                 std::string(kv.key())));
    events = &body.as_object().at("events").as_array();
  }
  else if (body.is_array())
    events = &body.as_array();
  if (!events) return respond(JsonError(400, "a batch is {\"events\": [...]}", "events"));
  if (events->size() > options_.max_batch_events)
    return respond(JsonError(400, "at most " + std::to_string(options_.max_batch_events) + " events per batch", "events"));
  // Each event is its own job: all or nothing per event, one result per event, in order.
  struct Batch {
    std::mutex mu;
    json::array results;
    size_t pending = 0;
    Respond respond;
  };
  auto batch = std::make_shared<Batch>();
  batch->results.resize(events->size());
  batch->respond = std::move(respond);
  std::vector<std::pair<size_t, std::pair<storage::EventRecord, json::object>>> valid;
  for (size_t i = 0; i < events->size(); ++i) {
    storage::EventRecord e;
    json::object ids;
    FieldError error;
    std::string where;
    if (NonFiniteNumberAt((*events)[i], where))
      error = {where, "number is out of range (beyond what a double holds)"};
    if (!where.empty() || !ParseEvent((*events)[i], e, ids, error)) {
      events_rejected_.Inc();
      json::object r{{"index", i}, {"status", "rejected"},
                     {"error", error.field.empty() ? error.message : error.field + ": " + error.message}};
      if (!error.field.empty()) r["field"] = error.field;
      batch->results[i] = std::move(r);
      continue;
    }
    e.request_id = req.request_id;
    e.received_ms = clock_.NowMillis();
    valid.push_back({i, {std::move(e), std::move(ids)}});
  }
  batch->pending = valid.size();
  if (valid.empty()) return batch->respond(Json(200, {{"results", batch->results}}));
  for (auto& [index, item] : valid) {
    size_t i = index;
    service_.SubmitEvent(std::move(item.first), std::move(item.second),
                         [this, batch, i](const Status& s, const engine::EventOutcome& out) {
                           json::object r{{"index", i}};
                           if (!s.ok()) {
                             events_rejected_.Inc();
                             r["status"] = "rejected";
                             r["error"] = s.message();
                           } else {
                             (out.duplicate ? events_duplicate_ : events_accepted_).Inc();
                             r["status"] = out.duplicate ? "duplicate" : "accepted";
                             r["id"] = std::to_string(out.seq);
                           }
                           std::lock_guard<std::mutex> lock(batch->mu);
                           batch->results[i] = std::move(r);
                           if (--batch->pending == 0) batch->respond(Json(200, {{"results", batch->results}}));
                         });
  }
}

void ApiHandler::PostUser(HttpRequest& req, Respond respond) {
  json::value body;
  if (!ParseBody(req, body, respond)) return;
  auto update = std::make_shared<UserUpdate>();
  FieldError error;
  if (!ParseUserUpdate(body, *update, error))
    return respond(JsonError(400, error.field.empty() ? error.message : error.field + ": " + error.message, error.field));
  auto result = std::make_shared<storage::UserRecord>();
  service_.Submit(
      [this, update, result](storage::StoreTxn& txn) -> Status {
        std::string id = update->id;
        // An identity another user holds is refused before anything is written (a job that
        // fails after writing makes the writer run its whole batch again): the user is the one
        // named, else the first holder in ResolveUser's order (kind, then value).
        {
          std::vector<std::pair<std::string, std::string>> asked;
          for (const auto& kv : update->identities)
            asked.emplace_back(std::string(kv.key()), std::string(kv.value().as_string()));
          std::sort(asked.begin(), asked.end());
          std::string target = id;
          for (const auto& [kind, value] : asked) {
            auto holder = txn.FindUserByIdentity(kind, value);
            if (!holder.ok()) return holder.status();
            if (!*holder) continue;
            if (target.empty()) target = **holder;
            if (**holder != target)
              return Status(StatusCode::kAlreadyExists, "identities." + kind + ": '" + value + "' belongs to user '" +
                                                            **holder + "', not '" + target + "'");
          }
        }
        if (Status s = engine_.ResolveUser(txn, update->identities, id); !s.ok()) return s;
        auto u = txn.GetUser(id);
        if (!u.ok()) return u.status();
        storage::UserRecord user;
        if (*u) user = **u;
        else {
          user.id = id;
          user.created_ms = clock_.NowMillis();
        }
        ApplyUserUpdate(*update, user);
        user.updated_ms = clock_.NowMillis();
        if (Status s = txn.PutUser(user); !s.ok()) return s;
        *result = user;
        return Status::Ok();
      },
      [respond, result](const Status& s) {
        if (!s.ok()) return respond(FromStatus(s));
        respond(Json(200, UserJsonOut(*result)));
      });
}

void ApiHandler::GetUser(const std::string& id, Respond respond) {
  OnReader([this, id, respond] {
    auto u = store_.NewReader()->GetUser(id);
    if (!u.ok()) return respond(FromStatus(u.status()));
    if (!*u) return respond(JsonError(404, "no user '" + id + "'"));
    respond(Json(200, UserJsonOut(**u)));
  });
}

void ApiHandler::ListFlows(Respond respond) {
  OnReader([this, respond] {
    auto flows = store_.NewReader()->ListFlows();
    if (!flows.ok()) return respond(FromStatus(flows.status()));
    auto graph = engine_.current();
    json::array out;
    for (const auto& f : *flows) {
      json::object o{{"name", f.name}, {"version", f.version}, {"set_version", f.set_version},
                     {"paused", f.paused}, {"updated_at", Time(f.updated_ms)}};
      json::array chains;
      if (graph)
        for (const auto& c : graph->chains()) {
          if (c.flow != f.name) continue;
          json::object ch{{"name", c.name}, {"version", c.version}};
          switch (c.trigger.kind) {
            case dsl::Trigger::Kind::kEvent: ch["trigger"] = json::object{{"event", c.trigger.event}}; break;
            case dsl::Trigger::Kind::kSchedule:
              ch["trigger"] = json::object{{"schedule", c.trigger.schedule->spec()}, {"tz", c.trigger.tz}};
              break;
            case dsl::Trigger::Kind::kManual: ch["trigger"] = json::object{{"manual", true}}; break;
            case dsl::Trigger::Kind::kNone: break;
          }
          chains.push_back(std::move(ch));
        }
      o["chains"] = std::move(chains);
      out.push_back(std::move(o));
    }
    respond(Json(200, {{"flows", out}}));
  });
}

void ApiHandler::DeployFlow(HttpRequest& req, const std::string& name_in, bool validate_only, Respond respond) {
  if (req.body.empty()) return respond(JsonError(400, "the body is the flow file (YAML)"));
  // The flow's name: the URL's and `flow.name` in the file, which must agree when both are
  // given. A YAML syntax error is reported as the compiler would (file:line:col), whether or not
  // the URL names the flow.
  std::string name = name_in;
  {
    dsl::SourceSet sources;
    dsl::Diagnostics diags;
    uint32_t f = sources.Add("api/" + (name_in.empty() ? std::string("flow") : name_in) + ".yaml", req.body);
    dsl::YamlNode root = dsl::ParseYaml(sources, f, diags);
    if (diags.size() > 0)
      return respond(Json(400, {{"error", "invalid flow"}, {"diagnostics", diags.Format(sources)}}));
    const dsl::YamlNode* flow = root.is_map() ? root.Find("flow") : nullptr;
    const dsl::YamlNode* n = flow && flow->is_map() ? flow->Find("name") : nullptr;
    if (n && n->is_scalar() && !n->scalar.empty()) {
      if (!name.empty() && n->scalar != name)
        return respond(JsonError(400, "the URL names flow '" + name + "' but flow.name in the file is '" + n->scalar + "'",
                                 "name"));
      name = n->scalar;
    }
  }
  if (name.empty()) return respond(JsonError(400, "name the flow: flow.name in the file, or POST /v1/flows?name=NAME", "name"));
  if (!ValidApiFlowName(name))
    return respond(JsonError(400, "a flow deployed through the API is named by 1-128 bytes without '/', '\\', control "
                                  "characters or a leading '.'",
                             "name"));
  auto text = std::make_shared<std::string>(std::move(req.body));
  auto errors = std::make_shared<std::string>();
  auto version = std::make_shared<std::string>();
  // The new set: the current one with this flow's file replaced (or added as api/NAME.yaml).
  using SetLookup = std::function<Result<std::optional<storage::FlowSetRecord>>(const std::string&)>;
  auto build_files = [this, name, text](const SetLookup& get_set,
                                        std::vector<std::pair<std::string, std::string>>& files) -> Status {
    auto graph = engine_.current();
    bool replaced = false;
    if (graph) {
      auto set = get_set(graph->version());
      if (!set.ok()) return set.status();
      if (*set)
        for (const json::value& f : (*set)->files) {
          const json::object& o = f.as_object();
          std::string path(o.at("path").as_string());
          const json::value* fname = o.if_contains("name");
          if (fname && fname->is_string() && fname->as_string() == name) {
            files.emplace_back(path, *text);
            replaced = true;
          } else {
            files.emplace_back(path, std::string(o.at("text").as_string()));
          }
        }
    }
    if (!replaced) files.emplace_back("api/" + name + ".yaml", *text);
    return Status::Ok();
  };
  auto finish = [respond, errors, version, name, validate_only](const Status& s) {
    if (!s.ok() && !errors->empty())
      return respond(Json(400, {{"error", "invalid flow"}, {"diagnostics", *errors}}));
    if (!s.ok()) return respond(FromStatus(s));
    respond(Json(validate_only ? 200 : 201,
                 {{"name", name}, {"status", validate_only ? "valid" : "deployed"}, {"set_version", *version}}));
  };
  if (validate_only) {
    OnReader([this, build_files, errors, version, finish] {
      auto reader = store_.NewReader();
      std::vector<std::pair<std::string, std::string>> files;
      Status s = build_files([&](const std::string& v) { return reader->GetFlowSet(v); }, files);
      if (!s.ok()) return finish(s);
      dsl::FlowCompiler compiler(engine_.kinds());
      for (auto& [p, t] : files) compiler.AddFile(p, t);
      dsl::Diagnostics diags;
      auto graph = compiler.Compile(diags);
      if (!graph) {
        *errors = diags.Format(compiler.sources());
        return finish(Status::Invalid("invalid flow"));
      }
      *version = graph->version();
      finish(Status::Ok());
    });
    return;
  }
  service_.Submit(
      [this, build_files, errors, version](storage::StoreTxn& txn) -> Status {
        std::vector<std::pair<std::string, std::string>> files;
        Status b = build_files([&](const std::string& v) { return txn.GetFlowSet(v); }, files);
        if (!b.ok()) return b;
        Status s = engine_.Deploy(txn, files, *errors);
        if (s.ok()) *version = engine_.current()->version();
        return s;
      },
      finish);
}

void ApiHandler::PauseFlow(const std::string& name, bool paused, Respond respond) {
  auto found = std::make_shared<bool>(false);
  service_.Submit([this, name, paused, found](storage::StoreTxn& txn) { return engine_.SetPaused(txn, name, paused, *found); },
                  [respond, found, name, paused](const Status& s) {
                    if (!s.ok()) return respond(FromStatus(s));
                    if (!*found) return respond(JsonError(404, "no flow '" + name + "'"));
                    respond(Json(200, {{"name", name}, {"paused", paused}}));
                  });
}

void ApiHandler::FlowStats(const std::string& name, Respond respond) {
  OnReader([this, name, respond] {
    auto graph = engine_.current();
    if (!graph) return respond(JsonError(404, "no flows are deployed"));
    auto reader = store_.NewReader();
    json::array chains;
    bool found = false;
    for (const auto& c : graph->chains()) {
      if (c.flow != name && c.name != name) continue;
      found = true;
      auto stats = reader->GetNodeStats(c.name);
      if (!stats.ok()) return respond(FromStatus(stats.status()));
      json::array nodes;
      for (const auto& n : *stats)
        // `succeeded` is `completed` under DESIGN.md's name for it (both kept: scripts use either).
        nodes.push_back(json::object{{"node", n.node},           {"entered", n.entered},
                                     {"completed", n.completed}, {"succeeded", n.completed},
                                     {"failed", n.failed},       {"waiting", n.waiting},
                                     {"cancelled", n.cancelled}});
      chains.push_back(json::object{{"chain", c.name}, {"version", c.version}, {"nodes", std::move(nodes)}});
    }
    if (!found) return respond(JsonError(404, "no flow or chain '" + name + "'"));
    respond(Json(200, {{"flow", name}, {"chains", std::move(chains)}}));
  });
}

void ApiHandler::ListExecutions(const HttpRequest& req, Respond respond) {
  storage::ExecutionFilter filter;
  auto q = [&](const char* k) -> std::string {
    auto it = req.query.find(k);
    return it == req.query.end() ? "" : it->second;
  };
  filter.user_id = q("user_id");
  filter.flow = q("flow");
  if (std::string s = q("status"); !s.empty()) {
    filter.status = storage::ParseExecutionStatus(s);
    if (!filter.status)
      return respond(JsonError(400, "status must be running, waiting, completed, failed or cancelled", "status"));
  }
  if (std::string a = q("after"); !a.empty() && !ParseId(a, filter.after_id))
    return respond(JsonError(400, "after must be an execution id", "after"));
  if (std::string l = q("limit"); !l.empty()) {
    int64_t n = 0;
    if (!ParseId(l, n) || n > 1000) return respond(JsonError(400, "limit must be 1-1000", "limit"));
    filter.limit = static_cast<int>(n);
  }
  OnReader([this, filter, respond] {
    auto list = store_.NewReader()->ListExecutions(filter);
    if (!list.ok()) return respond(FromStatus(list.status()));
    json::array out;
    for (const auto& e : *list) out.push_back(ExecutionJson(e, false));
    json::object o{{"executions", out}};
    if (static_cast<int>(list->size()) == filter.limit && !list->empty()) o["next_after"] = std::to_string(list->back().id);
    respond(Json(200, o));
  });
}

void ApiHandler::GetExecution(const std::string& id_text, Respond respond) {
  int64_t id = 0;
  if (!ParseId(id_text, id)) return respond(JsonError(400, "an execution id is a positive number", "id"));
  OnReader([this, id, respond] {
    auto e = store_.NewReader()->GetExecution(id);
    if (!e.ok()) return respond(FromStatus(e.status()));
    if (!*e) return respond(JsonError(404, "no execution " + std::to_string(id)));
    respond(Json(200, ExecutionJson(**e, true)));
  });
}

void ApiHandler::CancelExecution(const std::string& id_text, Respond respond) {
  int64_t id = 0;
  if (!ParseId(id_text, id)) return respond(JsonError(400, "an execution id is a positive number", "id"));
  auto cancelled = std::make_shared<bool>(false);
  auto ended_as = std::make_shared<std::string>("cancelled");  // the status it had ended with, if not now
  service_.Submit(
      [this, id, cancelled, ended_as](storage::StoreTxn& txn) {
        if (Status s = engine_.Cancel(txn, id, *cancelled); !s.ok() || *cancelled) return s;
        auto e = txn.GetExecutionAsIs(id);  // it had ended before: how (its row read as it is)
        if (!e.ok()) return e.status();
        if (!*e) return Status::NotFound("no execution " + std::to_string(id));
        *ended_as = storage::ExecutionStatusName((*e)->status);
        return Status::Ok();
      },
      [respond, id, cancelled, ended_as](const Status& s) {
        if (!s.ok()) return respond(FromStatus(s));
        // Cancelling a cancelled execution again is a retry: done. One that completed or failed
        // cannot be cancelled any more: 409 with its status.
        if (!*cancelled && *ended_as != "cancelled")
          return respond(Json(409, {{"error", "execution " + std::to_string(id) + " has already ended as " + *ended_as},
                                    {"status", *ended_as}}));
        respond(Json(200, {{"id", std::to_string(id)}, {"cancelled", *cancelled}, {"status", "cancelled"}}));
      });
}

void ApiHandler::PostRuns(HttpRequest& req, Respond respond) {
  json::value body;
  if (!ParseBody(req, body, respond)) return;
  if (!body.is_object()) return respond(JsonError(400, "a run is {\"chain\", \"user_ids\": [...]}"));
  const json::object& o = body.as_object();
  for (const auto& kv : o)
    if (kv.key() != "chain" && kv.key() != "user_ids" && kv.key() != "event")
      return respond(JsonError(400, std::string(kv.key()) + ": unknown field (a run has chain, user_ids, event)",
                               std::string(kv.key())));
  const json::value* chain = o.if_contains("chain");
  if (!chain || !chain->is_string()) return respond(JsonError(400, "chain: is required", "chain"));
  const json::value* users = o.if_contains("user_ids");
  if (const json::value* event = o.if_contains("event")) {
    if (!event->is_object()) return respond(JsonError(400, "event: must be an object (what the run's event.* reads)", "event"));
    if (!users)
      return respond(JsonError(400, "event: goes with user_ids (an audience run enrolls with the audience tick)", "event"));
  }
  if (!users) {
    // No users listed: the chain's audience (its first node, a segment), enrolled page by page.
    std::string chain_name(chain->as_string());
    std::string key = "run:" + req.request_id;
    auto has_audience = std::make_shared<bool>(false);
    service_.Submit(
        [this, chain_name, key, has_audience](storage::StoreTxn& txn) {
          return engine_.StartFanout(txn, chain_name, key, *has_audience);
        },
        [this, respond, key, has_audience, chain_name](const Status& s) {
          if (!s.ok()) return respond(FromStatus(s));
          if (!*has_audience)
            return respond(JsonError(400, "chain '" + chain_name +
                                              "' does not start with a segment: list the users in user_ids", "user_ids"));
          service_.Wake();
          respond(Json(202, {{"chain", chain_name}, {"audience", true}, {"entry_key", key}}));
        });
    return;
  }
  if (!users->is_array() || users->as_array().empty() || users->as_array().size() > 1000)
    return respond(JsonError(400, "user_ids: a list of 1-1000 user ids", "user_ids"));
  for (const auto& u : users->as_array())
    if (!u.is_string() || u.as_string().empty()) return respond(JsonError(400, "user_ids: ids are strings", "user_ids"));
  json::value event = o.contains("event") ? o.at("event") : json::value(nullptr);
  auto results = std::make_shared<json::array>();
  std::string chain_name(chain->as_string());
  json::array ids = users->as_array();
  std::string request_id = req.request_id;
  service_.Submit(
      [this, chain_name, ids, event, results, request_id](storage::StoreTxn& txn) -> Status {
        results->clear();
        for (const auto& u : ids) {
          int64_t id = 0;
          std::string refused;
          Status s = engine_.Start(txn, chain_name, std::string(u.as_string()), event, request_id, id, refused);
          if (!s.ok()) return s;
          json::object r{{"user_id", u}};
          if (id) r["execution_id"] = std::to_string(id);
          else r["refused"] = refused;
          results->push_back(std::move(r));
        }
        return Status::Ok();
      },
      [respond, results](const Status& s) {
        if (!s.ok()) return respond(FromStatus(s));
        respond(Json(200, {{"runs", *results}}));
      });
}

void ApiHandler::Metrics(Respond respond) {
  OnReader([this, respond] { respond({200, "text/plain; version=0.0.4; charset=utf-8", metrics_.Render(), {}}); });
}

}  // namespace reach::server
