#pragma once
// A real engine over a real SQLite store in a temporary directory, with a manual clock, for
// tests that suspend, close the store, reopen it and resume.

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "engine/engine.h"
#include "nodes/builtin_kinds.h"
#include "storage/sqlite_store.h"

namespace reach::testing {

// Records every send instead of delivering it, once its job has committed (as the daemon's
// sandbox sink does: a job the store runs again records its sends once).
class RecordingSink final : public engine::SendSink {
 public:
  bool Accept(storage::StoreTxn& txn, const storage::ExecutionRecord&, const std::string& key,
              const engine::SendRequest& request, std::string&) override {
    txn.AfterCommit([this, key, request] {
      keys.push_back(key);
      requests.push_back(request);
    });
    return true;
  }
  std::vector<std::string> keys;
  std::vector<engine::SendRequest> requests;
};

class EngineHarness {
 public:
  static constexpr int64_t kT0 = 1795000000000;  // 2026-11-18T11:06:40Z

  explicit EngineHarness(engine::EngineOptions options = {}) : options_(options), clock_(kT0) {
    dir_ = (std::filesystem::temp_directory_path() / "reach-test-XXXXXX").string();
    if (!mkdtemp(dir_.data())) std::abort();
    Open();
  }
  ~EngineHarness() {
    Close();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void Open() {
    storage::StoreOptions o;
    o.path = dir_ + "/reach.db";
    auto s = storage::OpenSqliteStore(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    engine_ = std::make_unique<engine::Engine>(nodes::BuiltinKinds(), nodes::BuiltinExecutors(), clock_, &sink_,
                                               options_);
    ASSERT_TRUE(Write([&](storage::StoreTxn& t) { return engine_->LoadCurrent(t); }).ok());
  }
  void Close() {
    engine_.reset();
    if (store_) store_->Close();
    store_.reset();
  }
  // Everything in memory is dropped; only the file remains.
  void Reopen() {
    Close();
    Open();
  }

  Status Write(const storage::Store::Job& job) { return store_->Write(job); }

  void Deploy(const std::string& yaml, const std::string& path = "flow.yaml") {
    std::string errors;
    Status s = Write([&](storage::StoreTxn& t) { return engine_->Deploy(t, {{path, yaml}}, errors); });
    ASSERT_TRUE(s.ok()) << errors << s.ToString();
  }

  int64_t Start(const std::string& chain, const std::string& user = "u1") {
    int64_t id = 0;
    std::string refused;
    Status s = Write([&](storage::StoreTxn& t) {
      return engine_->Start(t, chain, user, boost::json::value(), "test", id, refused);
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    last_refusal = refused;
    return id;
  }

  engine::EventOutcome Event(const std::string& type, const std::string& user = "u1",
                             boost::json::object properties = {}, const std::string& message_id = "") {
    storage::EventRecord e;
    e.type = type;
    e.user_id = user;
    e.properties = std::move(properties);
    e.message_id = message_id;
    engine::EventOutcome out;
    Status s = Write([&](storage::StoreTxn& t) { return engine_->HandleEvent(t, e, out); });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  // Moves the clock and fires every timer that became due (in as many batches as needed): read
  // and run ahead of the writer, then applied (as the timer thread does), or with
  // `timers_on_writer` all in the writer's job (FireDueTimers, as `reach run` does).
  int Advance(int64_t ms) {
    clock_.Advance(ms);
    int total = 0;
    for (;;) {
      int fired = 0;
      Status s;
      if (timers_on_writer) {
        s = Write([&](storage::StoreTxn& t) { return engine_->FireDueTimers(t, fired); });
      } else {
        engine::PreparedTimers batch;
        auto reader = store_->NewReader();
        s = engine_->PrepareDueTimers(*reader, nullptr, batch);
        if (s.ok()) s = Write([&](storage::StoreTxn& t) { return engine_->ApplyPreparedTimers(t, batch, fired); });
      }
      EXPECT_TRUE(s.ok()) << s.ToString();
      total += fired;
      if (fired == 0) return total;
    }
  }

  storage::ExecutionRecord Get(int64_t id) {
    auto r = store_->NewReader()->GetExecution(id);
    EXPECT_TRUE(r.ok() && *r);
    return r.ok() && *r ? **r : storage::ExecutionRecord{};
  }
  std::string Trace(int64_t id) { return Get(id).trace; }
  storage::ExecutionStatus Status_(int64_t id) { return Get(id).status; }

  std::string db_path() const { return dir_ + "/reach.db"; }
  storage::Store& store() { return *store_; }
  engine::Engine& engine() { return *engine_; }
  engine::ManualClock& clock() { return clock_; }
  RecordingSink& sink() { return sink_; }
  std::string last_refusal;
  bool timers_on_writer = false;

 private:
  engine::EngineOptions options_;
  engine::ManualClock clock_;
  std::string dir_;
  RecordingSink sink_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<engine::Engine> engine_;
};

}  // namespace reach::testing
