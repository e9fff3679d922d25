#pragma once
// ApiHandler: Reach's HTTP API as a RequestHandler — routes, authentication, validation, and
// the hand-off of work: writes go to the store's writer (group commit; answered after the
// commit), reads to a small pool of reader threads. The io threads never wait on SQLite.
//
//   POST /v1/events                 an event                     202 {id, ...} | 200 duplicate | 400
//   POST /v1/events:batch           {"events": [...]} (<= 1000)  200 {"results": [...]}
//   POST /v1/users                  upsert a profile             200 {user}
//   GET  /v1/users/{id}
//   GET  /v1/flows                  flows and their chains
//   POST /v1/flows                  deploy a flow file (YAML body) as a new version
//   POST /v1/flows/{name}:validate  the same checks, nothing stored
//   POST /v1/flows/{name}:pause | :resume
//   GET  /v1/flows/{name}/stats     per node: entered, completed, failed, waiting
//   GET  /v1/executions?user_id=&flow=&status=&after=&limit=
//   GET  /v1/executions/{id}
//   POST /v1/executions/{id}:cancel
//   POST /v1/runs                   {"chain", "user_ids": [...], "event"?}: manual enrollment
//   GET  /healthz, /readyz, /metrics

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "engine/engine.h"
#include "engine/engine_service.h"
#include "server/http_types.h"
#include "server/metrics.h"
#include "storage/store.h"

namespace reach::server {

struct ApiOptions {
  std::vector<std::string> api_keys;  // empty: no key needed (the daemon then listens on loopback only)
  std::string webhook_secret;         // "" = X-Reach-Signature not accepted
  int64_t signature_window_seconds = 300;
  size_t max_batch_events = 1000;
  int reader_threads = 2;
};

class ApiHandler final : public RequestHandler {
 public:
  ApiHandler(ApiOptions options, storage::Store& store, engine::Engine& engine, engine::EngineService& service,
             const engine::Clock& clock, MetricsRegistry& metrics);
  ~ApiHandler() override;

  void Handle(HttpRequest request, Respond respond) override;

  // Readiness: flows loaded and the store healthy. Set by the daemon.
  void set_ready(bool ready) { ready_ = ready; }
  // Intake stops (503) while draining.
  void set_draining(bool draining) { draining_ = draining; }

 private:
  void Route(HttpRequest& req, Respond& respond);
  // False with `why` set when a signature was sent and is wrong (expired, mismatched, malformed).
  bool Authorized(const HttpRequest& req, bool allow_signature, std::string& why) const;
  void PostEvent(HttpRequest& req, Respond respond);
  void PostEventBatch(HttpRequest& req, Respond respond);
  void PostUser(HttpRequest& req, Respond respond);
  void GetUser(const std::string& id, Respond respond);
  void ListFlows(Respond respond);
  void DeployFlow(HttpRequest& req, const std::string& name, bool validate_only, Respond respond);
  void PauseFlow(const std::string& name, bool paused, Respond respond);
  void FlowStats(const std::string& name, Respond respond);
  void ListExecutions(const HttpRequest& req, Respond respond);
  void GetExecution(const std::string& id, Respond respond);
  void CancelExecution(const std::string& id, Respond respond);
  void PostRuns(HttpRequest& req, Respond respond);
  void Metrics(Respond respond);
  // Runs `work` on a reader thread.
  void OnReader(std::function<void()> work);

  ApiOptions options_;
  storage::Store& store_;
  engine::Engine& engine_;
  engine::EngineService& service_;
  const engine::Clock& clock_;
  MetricsRegistry& metrics_;
  Counter& events_accepted_;  // reach_events_total's children, looked up once
  Counter& events_duplicate_;
  Counter& events_rejected_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> draining_{false};
  std::unique_ptr<boost::asio::thread_pool> readers_;
};

// {"error": message} (+ "field") with `status`.
HttpResponse JsonError(int status, const std::string& message, const std::string& field = "");

// The body of the answer to POST /v1/events: {"id", "message_id" (when not empty), "status":
// "accepted" | "duplicate", and when accepted "started" and "resumed" (execution ids)}.
std::string EventAnswer(const engine::EventOutcome& outcome, const std::string& message_id);

}  // namespace reach::server
