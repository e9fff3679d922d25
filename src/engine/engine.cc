#include "engine/engine.h"

#include <algorithm>
#include <array>
#include <limits>
#include <map>

#include <boost/json.hpp>

#include "common/time_util.h"
#include "dsl/flow_compiler.h"

namespace reach::engine {

namespace json = boost::json;
using storage::ExecutionRecord;
using storage::ExecutionStatus;
using storage::StoreTxn;
using storage::UserRecord;

json::value EventJson(const storage::EventRecord& e) {
  json::object o;
  o.reserve(6);  // one table, not one per growth step
  o["type"] = e.type;
  o["user_id"] = e.user_id;
  o["properties"] = e.properties;
  o["timestamp"] = FormatTimestamp(e.timestamp_ms);
  o["message_id"] = e.message_id;
  o["seq"] = e.seq;
  return o;
}

// One wakeup of a PreparedTimers batch, and what its run did when it was recorded.
struct PreparedTimers::Run {
  enum class Kind : uint8_t {
    kTakeOnly,  // the execution is gone or finished: the apply only takes the wakeup
    kRecorded,  // the run's writes below apply as they are if the execution is unchanged
    kOnWriter,  // the apply reads the execution again and runs it
  };
  storage::WakeupRecord wakeup;
  Kind kind = Kind::kOnWriter;
  std::optional<ExecutionRecord> execution;  // as the run left it (kRecorded), rev as read
  std::vector<storage::WakeupRecord> added;
  std::vector<std::pair<int64_t, int64_t>> removed;  // (execution, wait id)
  struct Stat {
    std::string node;
    std::array<int64_t, 4> d;  // entered, completed, failed, waiting
  };
  std::vector<Stat> stats;
  std::vector<std::pair<std::string, bool>> steps;  // (node kind, failed) for the step observer
};

PreparedTimers::PreparedTimers() = default;
PreparedTimers::~PreparedTimers() = default;
PreparedTimers::PreparedTimers(PreparedTimers&&) noexcept = default;
PreparedTimers& PreparedTimers::operator=(PreparedTimers&&) noexcept = default;
size_t PreparedTimers::size() const { return runs_.size(); }

std::vector<PreparedTimers> PreparedTimers::Split() {
  std::vector<PreparedTimers> singles(runs_.size());
  for (size_t i = 0; i < runs_.size(); ++i) {
    PreparedTimers& one = singles[i];
    const bool recorded = runs_[i].kind == Run::Kind::kRecorded;
    one.last_ = {runs_[i].wakeup.due_ms, runs_[i].wakeup.execution_id, runs_[i].wakeup.wait_id};
    one.runs_.push_back(std::move(runs_[i]));
    one.recorded_ = recorded ? 1 : 0;
  }
  runs_.clear();
  recorded_ = written_ = stale_ = 0;
  return singles;
}

std::vector<storage::WakeupRecord> PreparedTimers::wakeups() const {
  std::vector<storage::WakeupRecord> wakeups;
  wakeups.reserve(runs_.size());
  for (const Run& run : runs_) wakeups.push_back(run.wakeup);
  return wakeups;
}

// The StoreTxn a run ahead of the writer sees (PrepareDueTimers): the writes a timer's run
// makes are recorded into its Run; flow sets are read from the reader (a version never
// changes); anything else is refused, and the run is then redone on the writer. (A read of the
// user or of events would be of a snapshot the writer may have moved past, and only the
// execution's own row carries a revision the apply can check.)
class Engine::AheadTxn final : public StoreTxn {
 public:
  AheadTxn(storage::StoreReader& reader, PreparedTimers::Run& run) : reader_(reader), run_(run) {}

  PreparedTimers::Run& run() { return run_; }
  bool refused() const { return refused_; }
  Status Refuse(std::string_view what) {
    refused_ = true;
    return Status::Aborted(std::string(what) + " is not done ahead of the writer");
  }

  Result<std::optional<storage::FlowSetRecord>> GetFlowSet(const std::string& version) override {
    return reader_.GetFlowSet(version);
  }
  Status UpdateExecution(ExecutionRecord&) override { return Status::Ok(); }  // run_.execution is it
  Status AddWakeup(const storage::WakeupRecord& wakeup) override {
    run_.added.push_back(wakeup);
    return Status::Ok();
  }
  Status DeleteWakeup(int64_t execution_id, int64_t wait_id) override {
    run_.removed.emplace_back(execution_id, wait_id);
    return Status::Ok();
  }
  Status BumpNodeStats(const std::string& chain, const std::string& chain_version, const std::string& node,
                       int64_t entered, int64_t completed, int64_t failed, int64_t waiting,
                       int64_t cancelled) override {
    // Always the run's own chain version (TxnHost::FlushStats), and nothing is cancelled in a run.
    if (chain != run_.execution->chain || chain_version != run_.execution->chain_version)
      return Refuse("counting another chain's nodes");
    if (cancelled != 0) return Refuse("counting a cancel");
    run_.stats.push_back({node, {entered, completed, failed, waiting}});
    return Status::Ok();
  }

  // Nothing commits ahead: an effect that waits for the commit is the writer's (steps are
  // recorded instead, and reported when the apply commits).
  void AfterCommit(std::function<void()>) override { Refuse("an effect after the commit"); }
  Result<std::optional<UserRecord>> GetUser(const std::string&) override { return Refuse("reading a user"); }
  Status PutUser(const UserRecord&) override { return Refuse("writing a user"); }
  Status CreateUser(const UserRecord&) override { return Refuse("writing a user"); }
  Result<std::optional<std::string>> FindUserByIdentity(const std::string&, const std::string&) override {
    return Refuse("finding a user");
  }
  Result<UserPage> ListUsers(const std::string&, int) override { return Refuse("listing users"); }
  Result<bool> InsertEvent(storage::EventRecord&) override { return Refuse("inserting an event"); }
  Result<int64_t> CountEvents(const std::string&, const std::string&, int64_t) override {
    return Refuse("counting events");
  }
  Result<int64_t> ReserveExecutionId() override { return Refuse("reserving an execution id"); }
  Status InsertExecution(ExecutionRecord&) override { return Refuse("inserting an execution"); }
  Result<std::optional<ExecutionRecord>> GetExecution(int64_t) override { return Refuse("reading an execution"); }
  Result<bool> EndUnreadable(int64_t, ExecutionStatus, const std::string&, int64_t) override {
    return Refuse("ending an execution");
  }
  Result<std::optional<ExecutionRecord>> GetExecutionAsIs(int64_t) override { return Refuse("reading an execution"); }
  Result<EntryState> GetEntryState(const std::string&, const std::string&, const std::string&) override {
    return Refuse("reading entry state");
  }
  Result<std::vector<storage::WaitRecord>> FindWaits(const std::string&, const std::string&) override {
    return Refuse("finding waits");
  }
  Result<std::vector<storage::DueWakeup>> DueWakeups(int64_t, int) override { return Refuse("reading due wakeups"); }
  Result<bool> TakeWakeup(const storage::WakeupRecord&) override { return Refuse("taking a wakeup"); }
  Status DeleteWakeupsOf(int64_t) override { return Refuse("deleting wakeups"); }
  Result<std::optional<int64_t>> NextTimerDue() override { return Refuse("reading the next timer"); }
  Result<int64_t> GetLastTick(const std::string&) override { return Refuse("reading a tick"); }
  Status SetLastTick(const std::string&, int64_t) override { return Refuse("writing a tick"); }
  Status PutFlowSet(const storage::FlowSetRecord&) override { return Refuse("writing a flow set"); }
  Status PutFlow(const storage::FlowRecord&) override { return Refuse("writing a flow"); }
  Result<std::vector<storage::FlowRecord>> ListFlows() override { return Refuse("listing flows"); }
  Result<std::optional<std::string>> GetMeta(const std::string&) override { return Refuse("reading meta"); }
  Status PutMeta(const std::string&, const std::string&) override { return Refuse("writing meta"); }

 private:
  storage::StoreReader& reader_;
  PreparedTimers::Run& run_;
  bool refused_ = false;
};

// ExecutionHost over the job's transaction.
//
// A fresh enrollment is not in the store yet (`stored` false): its wakeups are kept here, and
// Materialize() inserts the execution with them once, with the state its first run ends in
// (one INSERT instead of an INSERT and an UPDATE per enrollment). When the run needs the id
// before that (EnsureStored: a send is keyed, a node asks for execution_id()) the store
// reserves one, and the INSERT uses it. Either way it happens inside the job, so the
// execution, its wakeups and its sends commit together.
class Engine::TxnHost final : public ExecutionHost {
 public:
  // `ahead`: the run is recorded ahead of the writer (PrepareDueTimers; `txn` is `ahead`): it
  // sends nothing, notes nothing and reports its steps when applied.
  TxnHost(Engine& engine, StoreTxn& txn, ExecutionRecord& exec, bool stored = true, AheadTxn* ahead = nullptr)
      : engine_(engine), txn_(txn), exec_(exec), stored_(stored), ahead_(ahead) {
    stats_.reserve(8);  // the nodes a run passes: one allocation, not one per doubling
  }

  int64_t NowMillis() const override { return engine_.clock_.NowMillis(); }
  // Wakeups registered by the run are kept here and written when it ends (FlushWakeups), so
  // that a wait and its timeout are one row written once, and one removed in the same run is
  // never written.
  Status AddWait(int64_t, int64_t wait_id, const std::string& event_type) override {
    Pending(wait_id).event_type = event_type;
    return Status::Ok();
  }
  Status AddTimer(int64_t, int64_t wait_id, int64_t due_ms) override {
    Pending(wait_id).due_ms = due_ms;
    return Status::Ok();
  }
  Status RemoveWakeup(int64_t execution_id, int64_t wait_id) override {
    auto it = std::find_if(pending_.begin(), pending_.end(),
                           [&](const storage::WakeupRecord& w) { return w.wait_id == wait_id; });
    if (it != pending_.end()) {
      pending_.erase(it);
      return Status::Ok();
    }
    if (!stored_) return Status::Ok();
    if (execution_id == exec_.id && wait_id == fired_wait_id_) {
      // The wakeup whose timer woke this run: FireDueTimers deleted its row already.
      fired_wait_id_ = kNoWait;
      return Status::Ok();
    }
    return txn_.DeleteWakeup(execution_id, wait_id);
  }
  // The run was woken by the timer of `wait_id`, whose row the caller has deleted.
  void SetFiredTimer(int64_t wait_id) { fired_wait_id_ = wait_id; }
  Status EnsureStored(ExecutionRecord&) override {
    if (stored_ || exec_.id != 0) return Status::Ok();
    auto id = txn_.ReserveExecutionId();
    if (!id.ok()) return id.status();
    exec_.id = *id;
    return Status::Ok();
  }
  // Inserts the execution as it is now, then its wakeups. No-op once stored.
  Status Materialize() {
    if (stored_) return Status::Ok();
    if (Status s = txn_.InsertExecution(exec_); !s.ok()) return s;
    stored_ = true;
    return FlushWakeups();
  }
  // Writes the wakeups registered by the run.
  Status FlushWakeups() {
    for (storage::WakeupRecord& w : pending_) {
      w.execution_id = exec_.id;
      if (!ahead_) engine_.NoteDue(w.due_ms);
      if (Status s = txn_.AddWakeup(w); !s.ok()) return s;
    }
    pending_.clear();
    return Status::Ok();
  }
  // Forgets the wakeups not written yet (a finished run keeps none).
  void DropPendingWakeups() { pending_.clear(); }
  bool stored() const { return stored_; }
  int64_t CountEvents(const std::string& user_id, std::string_view type, int64_t since_ms) override {
    auto r = txn_.CountEvents(user_id, std::string(type), since_ms);
    return r.ok() ? *r : 0;
  }
  bool Send(const ExecutionRecord& execution, const std::string& key, SendRequest request, std::string& error) override {
    if (ahead_) {
      // A sink acts outside the store too (logs, counters): only on the writer, once.
      error = ahead_->Refuse("a send").message();
      return false;
    }
    // The executor reserves the id before it keys a send (EnsureStored); a sink must never
    // see an execution without its id.
    if (Status s = EnsureStored(exec_); !s.ok()) {
      error = s.message();
      return false;
    }
    if (!engine_.sends_) {
      error = "no channel is configured for sends";
      return false;
    }
    return engine_.sends_->Accept(txn_, execution, key, request, error);
  }
  void Note(std::string line) override {
    if (ahead_) {
      ahead_->Refuse("a note");
    } else if (engine_.note_sink_) {
      engine_.note_sink_(exec_.id, line);
    }
  }
  bool WantsNotes() const override { return static_cast<bool>(engine_.note_sink_); }
  bool FlowPaused(const std::string& flow) const override { return engine_.IsPaused(flow); }
  Status LoadUser(UserRecord& user) override { return engine_.LoadUser(txn_, user.id, user); }
  void StepDone(const std::string& type, bool failed) override {
    if (!engine_.step_observer_) return;
    (ahead_ ? ahead_->run().steps : steps_).emplace_back(type, failed);
  }
  void BumpStats(const std::string& node, int64_t entered, int64_t completed, int64_t failed) override {
    auto& d = Stats(node);
    d[0] += entered;
    d[1] += completed;
    d[2] += failed;
  }
  void BumpWaiting(const std::string& node, int64_t delta) { Stats(node)[3] += delta; }
  // Counters are summed over the run, then handed to the store once per node (which sums
  // them over the batch); the run's steps are reported once the job commits (a job the store
  // runs again reports them once).
  Status FlushStats() {
    for (const auto& [node, d] : stats_) {
      if (Status s = txn_.BumpNodeStats(exec_.chain, exec_.chain_version, node, d[0], d[1], d[2], d[3]); !s.ok())
        return s;
    }
    stats_.clear();
    if (!steps_.empty()) {
      txn_.AfterCommit([&engine = engine_, steps = std::move(steps_)] {
        for (const auto& [kind, failed] : steps) engine.step_observer_(kind, failed);
      });
      steps_.clear();
    }
    return Status::Ok();
  }

 private:
  Engine& engine_;
  StoreTxn& txn_;
  ExecutionRecord& exec_;
  bool stored_;
  AheadTxn* ahead_;
  static constexpr int64_t kNoWait = std::numeric_limits<int64_t>::min();
  int64_t fired_wait_id_ = kNoWait;  // see SetFiredTimer
  storage::WakeupRecord& Pending(int64_t wait_id) {
    for (storage::WakeupRecord& w : pending_)
      if (w.wait_id == wait_id) return w;
    storage::WakeupRecord& w = pending_.emplace_back();
    w.wait_id = wait_id;
    w.user_id = exec_.user_id;
    w.created_ms = NowMillis();
    return w;
  }
  std::vector<storage::WakeupRecord> pending_;       // registered by this run, not written yet
  // By node: a run touches a handful, so a vector searched in order (no map nodes to allocate).
  std::vector<std::pair<std::string, std::array<int64_t, 4>>> stats_;
  std::vector<std::pair<std::string, bool>> steps_;  // on the writer: the run's steps (kind, failed)
  std::array<int64_t, 4>& Stats(const std::string& node) {
    for (auto& [name, d] : stats_)
      if (name == node) return d;
    return stats_.emplace_back(node, std::array<int64_t, 4>{}).second;
  }
};

Engine::Engine(const dsl::NodeKindRegistry& kinds, const NodeExecutorRegistry& executors, const Clock& clock,
               SendSink* sends, EngineOptions options)
    : kinds_(kinds), executors_(executors), clock_(clock), sends_(sends), options_(options) {}

std::shared_ptr<const dsl::FlowGraph> Engine::current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

Result<std::shared_ptr<const dsl::FlowGraph>> Engine::CompileSet(const storage::FlowSetRecord& set,
                                                                 std::string& errors) {
  dsl::FlowCompiler compiler(kinds_);
  for (const json::value& f : set.files) {
    const json::object& o = f.as_object();
    compiler.AddFile(std::string(o.at("path").as_string()), std::string(o.at("text").as_string()));
  }
  dsl::Diagnostics diags;
  auto graph = compiler.Compile(diags);
  if (!graph) {
    errors = diags.Format(compiler.sources());
    return Status::Invalid(errors);
  }
  return graph;
}

Result<std::shared_ptr<const dsl::FlowGraph>> Engine::GraphFor(StoreTxn& txn, const std::string& set_version) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = graphs_.find(set_version);
    if (it != graphs_.end()) return it->second;
  }
  auto set = txn.GetFlowSet(set_version);
  if (!set.ok()) return set.status();
  if (!*set) return Status::NotFound("flow set " + set_version + " is not in the store");
  std::string errors;
  auto graph = CompileSet(**set, errors);
  if (!graph.ok()) return Status::Corruption("stored flow set " + set_version + " no longer compiles: " + errors);
  std::lock_guard<std::mutex> lock(mu_);
  graphs_[set_version] = *graph;
  return *graph;
}

Status Engine::Deploy(StoreTxn& txn, const std::vector<std::pair<std::string, std::string>>& files,
                      std::string& errors) {
  storage::FlowSetRecord set;
  for (const auto& [path, text] : files) set.files.push_back(json::object{{"path", path}, {"text", text}});
  auto graph = CompileSet(set, errors);
  if (!graph.ok()) return graph.status();
  const dsl::FlowGraph& g = **graph;
  set.version = g.version();
  set.created_ms = clock_.NowMillis();
  for (size_t i = 0; i < g.files().size(); ++i) {
    json::object& o = set.files[i].as_object();
    o["name"] = g.files()[i].name;
    o["version"] = g.files()[i].version;
  }
  Status s = txn.PutFlowSet(set);
  if (!s.ok()) return s;
  auto existing = txn.ListFlows();
  if (!existing.ok()) return existing.status();
  for (const dsl::FlowFile& f : g.files()) {
    storage::FlowRecord rec;
    rec.name = f.name;
    rec.version = f.version;
    rec.set_version = set.version;
    rec.updated_ms = set.created_ms;
    for (const auto& old : *existing)
      if (old.name == f.name) rec.paused = old.paused;
    if (Status ps = txn.PutFlow(rec); !ps.ok()) return ps;
  }
  if (Status ms = txn.PutMeta("current_set", set.version); !ms.ok()) return ms;
  std::lock_guard<std::mutex> lock(mu_);
  current_ = *graph;
  graphs_[set.version] = *graph;
  for (const auto& f : *existing) paused_[f.name] = f.paused;
  return Status::Ok();
}

Status Engine::LoadCurrent(StoreTxn& txn) {
  auto v = txn.GetMeta("current_set");
  if (!v.ok()) return v.status();
  if (!*v) return Status::Ok();
  auto graph = GraphFor(txn, **v);
  if (!graph.ok()) return graph.status();
  auto flows = txn.ListFlows();
  if (!flows.ok()) return flows.status();
  if (auto f = txn.GetMeta("fanouts"); f.ok() && *f && **f != "[]") fanouts_pending_ = true;
  std::lock_guard<std::mutex> lock(mu_);
  current_ = *graph;
  for (const auto& f : *flows) paused_[f.name] = f.paused;
  return Status::Ok();
}

Status Engine::LoadUser(StoreTxn& txn, const std::string& id, UserRecord& user, bool* created) {
  if (created) *created = false;
  auto u = txn.GetUser(id);
  if (!u.ok()) return u.status();
  if (*u) {
    user = std::move(**u);
    return Status::Ok();
  }
  user = UserRecord{};
  user.id = id;
  user.created_ms = user.updated_ms = clock_.NowMillis();
  Status s = txn.CreateUser(user);
  if (s.ok() && created) *created = true;
  return s;
}

namespace {

// The nodes an execution is suspended at, as its state records them ("wn"; one entry per
// suspended use, so a node may appear twice).
std::map<std::string, int64_t> WaitingAt(const json::object& state) {
  std::map<std::string, int64_t> nodes;
  if (const json::value* wn = state.if_contains("wn"); wn && wn->is_array())
    for (const json::value& n : wn->get_array())
      if (n.is_string()) ++nodes[std::string(n.get_string())];
  return nodes;
}

}  // namespace

Status Engine::RunExecution(StoreTxn& txn, ExecutionRecord& exec, UserRecord& user, const Wakeup* wakeup, bool fresh,
                            bool user_loaded, AheadTxn* ahead) {
  auto graph = GraphFor(txn, exec.set_version);
  if (!graph.ok()) return graph.status();
  TxnHost host(*this, txn, exec, /*stored=*/!fresh, ahead);
  if (wakeup && wakeup->kind == Wakeup::Kind::kTimer) host.SetFiredTimer(wakeup->wait_id);
  const std::map<std::string, int64_t> waiting_before = WaitingAt(exec.state);
  Executor executor(**graph, executors_, host, options_.executor);
  Status s = executor.Run(exec, user, wakeup, user_loaded);
  if (!s.ok()) return s;
  exec.updated_ms = clock_.NowMillis();
  const bool finished = storage::IsFinished(exec.status);
  if (finished) exec.finished_ms = exec.updated_ms;

  // Where it waits now, kept in its state and counted per node (node_stats.waiting).
  std::map<std::string, int64_t> waiting_after;
  if (!finished)
    for (const std::string& node : executor.waiting_nodes()) ++waiting_after[node];
  if (waiting_after.empty()) {
    exec.state.erase("wn");
  } else {
    json::array wn;
    for (const auto& [node, n] : waiting_after)
      for (int64_t k = 0; k < n; ++k) wn.emplace_back(node);
    exec.state["wn"] = std::move(wn);
  }
  for (const auto& [node, n] : waiting_after) {
    auto it = waiting_before.find(node);
    const int64_t delta = n - (it == waiting_before.end() ? 0 : it->second);
    if (delta != 0) host.BumpWaiting(node, delta);
  }
  for (const auto& [node, n] : waiting_before)
    if (!waiting_after.contains(node)) host.BumpWaiting(node, -n);

  // The executor removed the wakeups of a finished run (RemoveWakeup); what it did not register
  // is not kept (the engine and crash tests check that none is left).
  if (finished) host.DropPendingWakeups();
  if (!host.stored()) {
    // The first run: one INSERT with the state it ended in, then its wakeups.
    if (Status m = host.Materialize(); !m.ok()) return m;
  } else {
    if (Status u = txn.UpdateExecution(exec); !u.ok()) return u;
    if (Status w = host.FlushWakeups(); !w.ok()) return w;
  }
  if (executor.user_changed()) {
    user.updated_ms = clock_.NowMillis();
    if (Status p = txn.PutUser(user); !p.ok()) return p;
  }
  return host.FlushStats();
}

Status Engine::Enroll(StoreTxn& txn, const std::shared_ptr<const dsl::FlowGraph>& graph, uint32_t chain_index,
                      UserRecord& user, const json::value& event, const std::string& request_id,
                      int64_t& execution_id, std::string& refused, const std::string* forced_key) {
  execution_id = 0;
  const dsl::ChainDef& chain = graph->chain(chain_index);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (paused_[chain.flow]) {
      refused = "flow '" + chain.flow + "' is paused";
      return Status::Ok();
    }
  }
  std::string key;
  if (forced_key) {
    key = *forced_key;
  } else if (chain.entry.key) {
    json::value user_json = UserJson(user);
    dsl::Scope scope{&user_json, &event, nullptr, nullptr};
    dsl::Value v = chain.entry.key->Evaluate(scope);
    if (v.is_error()) {
      refused = "entry key: " + std::string(v.as_string());
      return Status::Ok();
    }
    key = v.kind() == dsl::Value::Kind::kString ? std::string(v.as_string()) : v.ToString();
  }
  // reentry: always refuses nobody, so the entry state is not read (a query per enrollment).
  if (chain.entry.reentry != dsl::EntryRule::Reentry::kAlways) {
    auto state = txn.GetEntryState(chain.name, user.id, key);
    if (!state.ok()) return state.status();
    switch (chain.entry.reentry) {
      case dsl::EntryRule::Reentry::kOnce:
        if (state->any) {
          refused = "already entered (reentry: once)";
          return Status::Ok();
        }
        break;
      case dsl::EntryRule::Reentry::kAfterExit:
        if (state->active) {
          refused = "still in the journey (reentry: after_exit)";
          return Status::Ok();
        }
        break;
      case dsl::EntryRule::Reentry::kAlways:
        break;
    }
  }
  ExecutionRecord exec;
  exec.flow = chain.flow;
  exec.chain = chain.name;
  exec.chain_version = chain.version;
  exec.set_version = graph->version();
  exec.user_id = user.id;
  exec.entry_key = key;
  exec.status = ExecutionStatus::kRunning;
  exec.event = event;
  exec.request_id = request_id;
  exec.created_ms = exec.updated_ms = clock_.NowMillis();
  // Stored by RunExecution when its first run ends (or sooner, when the run needs the id),
  // except while notes are collected (`reach run`): note lines carry the id from the first step.
  const bool fresh = !note_sink_;
  if (!fresh) {
    if (Status s = txn.InsertExecution(exec); !s.ok()) return s;
  }
  Status s = RunExecution(txn, exec, user, nullptr, fresh);
  execution_id = exec.id;
  return s;
}

Status Engine::HandleEvent(StoreTxn& txn, storage::EventRecord& event, EventOutcome& outcome,
                           UserRecord* known_user, bool user_created) {
  if (event.received_ms == 0) event.received_ms = clock_.NowMillis();
  if (event.timestamp_ms == 0) event.timestamp_ms = event.received_ms;
  job_earliest_due_ = 0;
  auto inserted = txn.InsertEvent(event);
  if (!inserted.ok()) return inserted.status();
  outcome.seq = event.seq;
  if (!*inserted) {
    outcome.duplicate = true;
    return Status::Ok();
  }
  UserRecord user;
  bool new_user = false;
  if (known_user && known_user->id == event.user_id) {
    user = std::move(*known_user);
    new_user = user_created;
  } else if (Status s = LoadUser(txn, event.user_id, user, &new_user); !s.ok()) {
    return s;
  }
  json::value ev = EventJson(event);

  // Resume first: an execution waiting for this event type moves on; then enroll, so that an
  // event that starts a journey does not also satisfy a wait of the journey it just started.
  // A user created just now waits for nothing (its executions come after its row).
  std::map<int64_t, std::vector<int64_t>> by_execution;
  if (!new_user) {
    auto waits = txn.FindWaits(event.user_id, event.type);
    if (!waits.ok()) return waits.status();
    for (const auto& w : *waits) by_execution[w.execution_id].push_back(w.wait_id);
  }
  for (const auto& [exec_id, wait_ids] : by_execution) {
    outcome.failed_execution = exec_id;  // until it has been read and resumed
    auto exec = txn.GetExecution(exec_id);
    if (!exec.ok()) return exec.status();
    if (!*exec || storage::IsFinished((*exec)->status)) continue;
    ExecutionRecord& e = **exec;
    size_t trace_before = e.trace.size();
    storage::ExecutionStatus status_before = e.status;
    // Every wait of this execution for this type sees the event (WHEN branches may each wait).
    for (int64_t wait_id : wait_ids) {
      if (storage::IsFinished(e.status)) break;
      Wakeup wake;
      wake.kind = Wakeup::Kind::kEvent;
      wake.wait_id = wait_id;
      wake.event = &event;
      wake.event_json = &ev;
      if (Status s = RunExecution(txn, e, user, &wake); !s.ok()) return s;
    }
    // Counted as resumed only when it moved (a wait whose `match` refused the event did not).
    if (e.trace.size() != trace_before || e.status != status_before) outcome.resumed.push_back(exec_id);
  }
  outcome.failed_execution = 0;

  auto graph = current();
  for (size_t c = 0; graph && c < graph->chains().size(); ++c) {
    const dsl::ChainDef& chain = graph->chain(static_cast<uint32_t>(c));
    if (chain.trigger.kind != dsl::Trigger::Kind::kEvent || chain.trigger.event != event.type) continue;
    if (chain.trigger.match) {
      json::value user_json = UserJson(user);
      dsl::Scope scope{&user_json, &ev, nullptr, nullptr};
      dsl::Value v = chain.trigger.match->Evaluate(scope);
      if (v.kind() != dsl::Value::Kind::kBool || !v.as_bool()) continue;
    }
    int64_t id = 0;
    std::string refused;
    if (Status s = Enroll(txn, graph, static_cast<uint32_t>(c), user, ev, event.request_id, id, refused, nullptr);
        !s.ok())
      return s;
    if (id) outcome.started.push_back(id);
  }
  outcome.earliest_due_ms = job_earliest_due_;
  return Status::Ok();
}

Status Engine::Start(StoreTxn& txn, const std::string& chain, const std::string& user_id, const json::value& event,
                     const std::string& request_id, int64_t& execution_id, std::string& refused) {
  auto graph = current();
  if (!graph) return Status::Precondition("no flows are deployed");
  int32_t c = graph->FindChain(chain);
  if (c == dsl::kNone) return Status::NotFound("no chain named '" + chain + "'");
  UserRecord user;
  if (Status s = LoadUser(txn, user_id, user); !s.ok()) return s;
  return Enroll(txn, graph, static_cast<uint32_t>(c), user, event, request_id, execution_id, refused, nullptr);
}

Status Engine::FireDueTimers(StoreTxn& txn, int& fired) {
  fired = 0;
  // The due wakeups with their executions in one statement; the rows are as of its start.
  auto due = txn.DueWakeups(clock_.NowMillis(), options_.timer_batch);
  if (!due.ok()) return due.status();
  std::vector<int64_t> ran;  // executions run by this batch: their rows read above are stale
  for (storage::DueWakeup& d : *due) {
    if (!d.unreadable.ok()) return d.unreadable;  // the job fails, as the run would
    // Taking the wakeup in the same transaction as the resume makes it fire exactly once; one
    // that is gone was taken by an earlier run of this batch (a WHEN branch it abandoned).
    auto taken = txn.TakeWakeup(d.wakeup);
    if (!taken.ok()) return taken.status();
    if (!*taken) continue;
    ++fired;
    std::optional<ExecutionRecord>& exec = d.execution;  // run in place: no copy, no second destruction
    if (std::find(ran.begin(), ran.end(), d.wakeup.execution_id) != ran.end()) {
      auto fresh = txn.GetExecution(d.wakeup.execution_id);
      if (!fresh.ok()) return fresh.status();
      exec = std::move(*fresh);
    }
    if (exec && !storage::IsFinished(exec->status)) ran.push_back(exec->id);
    if (Status s = RunTimerOnWriter(txn, d.wakeup, exec); !s.ok()) return s;
  }
  return Status::Ok();
}

Status Engine::RunTimerOnWriter(StoreTxn& txn, const storage::WakeupRecord& wakeup,
                                std::optional<ExecutionRecord>& exec) {
  if (!exec || storage::IsFinished(exec->status)) return Status::Ok();
  // The user is read only if the run looks at it.
  UserRecord user;
  user.id = exec->user_id;
  Wakeup wake;
  wake.kind = Wakeup::Kind::kTimer;
  wake.wait_id = wakeup.wait_id;
  return RunExecution(txn, *exec, user, &wake, /*fresh=*/false, /*user_loaded=*/false);
}

Status Engine::PrepareDueTimers(storage::StoreReader& reader, const storage::WakeupCursor* after,
                                PreparedTimers& batch) {
  batch.runs_.clear();
  batch.recorded_ = batch.written_ = batch.stale_ = 0;
  auto due = reader.DueWakeups(clock_.NowMillis(), options_.timer_batch, after);
  if (!due.ok()) return due.status();
  batch.runs_.reserve(due->size());
  std::vector<int64_t> ran;  // an execution's second wakeup in the batch runs after its first: on the writer
  for (storage::DueWakeup& d : *due) {
    PreparedTimers::Run& run = batch.runs_.emplace_back();
    run.wakeup = std::move(d.wakeup);
    batch.last_ = {run.wakeup.due_ms, run.wakeup.execution_id, run.wakeup.wait_id};
    // A row that does not read: left to the writer, whose read fails the job (and then the
    // execution alone, EngineService::IsolateFailedBatch).
    if (!d.unreadable.ok()) continue;  // kOnWriter
    if (!d.execution || storage::IsFinished(d.execution->status)) {
      // Finished is final, and an execution is never re-inserted: the writer will find the same.
      run.kind = PreparedTimers::Run::Kind::kTakeOnly;
      continue;
    }
    if (std::find(ran.begin(), ran.end(), d.execution->id) != ran.end() || note_sink_) continue;  // kOnWriter
    ran.push_back(d.execution->id);
    run.execution = std::move(d.execution);
    // A run touches a few nodes: one allocation each instead of the vectors' doubling.
    run.stats.reserve(4);
    if (step_observer_) run.steps.reserve(4);
    AheadTxn txn(reader, run);
    UserRecord user;  // unread: a run that needs it is refused and goes to the writer
    user.id = run.execution->user_id;
    Wakeup wake;
    wake.kind = Wakeup::Kind::kTimer;
    wake.wait_id = run.wakeup.wait_id;
    Status s;
    try {
      s = RunExecution(txn, *run.execution, user, &wake, /*fresh=*/false, /*user_loaded=*/false, &txn);
    } catch (...) {
      // On the writer the store catches it and fails the job, as for any run: the same here.
      s = StatusOfCurrentException("run ahead");
    }
    if (s.ok() && !txn.refused()) {
      run.kind = PreparedTimers::Run::Kind::kRecorded;
      ++batch.recorded_;
    } else {
      // Whatever went wrong happens again on the writer, where it is reported (or does not).
      run.execution.reset();
      run.added.clear();
      run.removed.clear();
      run.stats.clear();
      run.steps.clear();
    }
  }
  return Status::Ok();
}

Status Engine::ApplyPreparedTimers(StoreTxn& txn, PreparedTimers& batch, int& fired) {
  using Kind = PreparedTimers::Run::Kind;
  fired = 0;
  batch.written_ = batch.stale_ = 0;
  for (PreparedTimers::Run& run : batch.runs_) {
    // As in FireDueTimers: the wakeup is taken in the transaction that writes its run.
    auto taken = txn.TakeWakeup(run.wakeup);
    if (!taken.ok()) return taken.status();
    if (!*taken) continue;
    ++fired;
    if (run.kind == Kind::kTakeOnly) continue;
    if (run.kind == Kind::kRecorded) {
      // The execution row first: refused (and nothing written) when it changed since it was read.
      ExecutionRecord& exec = *run.execution;
      const int64_t rev = exec.rev;
      const std::optional<ExecutionStatus> stored_status = exec.stored_status;
      Status u = txn.UpdateExecution(exec);
      if (u.ok()) {
        // A job may run twice (the store isolating a failed job): the record must read as it
        // did, so that the second apply's update is checked against the same revision.
        exec.rev = rev;
        exec.stored_status = stored_status;
        for (const auto& [execution_id, wait_id] : run.removed)
          if (Status s = txn.DeleteWakeup(execution_id, wait_id); !s.ok()) return s;
        for (const storage::WakeupRecord& w : run.added) {
          NoteDue(w.due_ms);
          if (Status s = txn.AddWakeup(w); !s.ok()) return s;
        }
        for (const PreparedTimers::Run::Stat& st : run.stats)
          if (Status s = txn.BumpNodeStats(exec.chain, exec.chain_version, st.node, st.d[0], st.d[1], st.d[2], st.d[3]);
              !s.ok())
            return s;
        if (step_observer_ && !run.steps.empty())
          txn.AfterCommit([this, &steps = run.steps] {
            for (const auto& [kind, failed] : steps) step_observer_(kind, failed);
          });
        ++batch.written_;
        continue;
      }
      if (u.code() != StatusCode::kAborted) return u;
      ++batch.stale_;
    }
    auto fresh = txn.GetExecution(run.wakeup.execution_id);
    if (!fresh.ok()) return fresh.status();
    if (Status s = RunTimerOnWriter(txn, run.wakeup, *fresh); !s.ok()) return s;
  }
  return Status::Ok();
}

Status Engine::Cancel(StoreTxn& txn, int64_t execution_id, bool& cancelled) {
  return EndById(txn, execution_id, ExecutionStatus::kCancelled, "", cancelled);
}

Status Engine::EndById(StoreTxn& txn, int64_t id, ExecutionStatus status, const std::string& reason, bool& ended) {
  ended = false;
  auto exec = txn.GetExecution(id);
  if (!exec.ok() && exec.status().code() == StatusCode::kCorruption) {
    // The row does not read (a JSON column that does not parse): ended as it is, so that an
    // execution the engine cannot run can still be stopped.
    return EndAsIs(txn, id, status, reason, ended);
  }
  if (!exec.ok()) return exec.status();
  if (!*exec) return Status::NotFound("no execution " + std::to_string(id));
  if (storage::IsFinished((*exec)->status)) return Status::Ok();
  if (Status s = End(txn, **exec, status, reason); !s.ok()) return s;
  ended = true;
  return Status::Ok();
}

namespace {

// An execution ended as `status` (failed or cancelled) while waiting: the nodes it waited at
// (its state's "wn") stop counting it as waiting and count how it ended there.
Status CountEndAtWaitingNodes(StoreTxn& txn, const ExecutionRecord& e, ExecutionStatus status) {
  const int64_t failed = status == ExecutionStatus::kFailed, cancelled = status == ExecutionStatus::kCancelled;
  for (const auto& [node, n] : WaitingAt(e.state))
    if (Status s = txn.BumpNodeStats(e.chain, e.chain_version, node, 0, 0, n * failed, -n, n * cancelled); !s.ok())
      return s;
  return Status::Ok();
}

}  // namespace

Status Engine::End(StoreTxn& txn, ExecutionRecord& e, ExecutionStatus status, const std::string& error) {
  e.status = status;
  if (!error.empty()) e.error = error;
  e.updated_ms = e.finished_ms = clock_.NowMillis();
  e.state.erase("root");
  if (Status s = CountEndAtWaitingNodes(txn, e, status); !s.ok()) return s;
  e.state.erase("wn");
  if (Status s = txn.DeleteWakeupsOf(e.id); !s.ok()) return s;
  return txn.UpdateExecution(e);
}

Status Engine::FailUnrunnable(StoreTxn& txn, const storage::WakeupRecord& wakeup, const std::string& reason,
                              bool& ended) {
  ended = false;
  auto taken = txn.TakeWakeup(wakeup);
  if (!taken.ok()) return taken.status();
  if (!*taken) return Status::Ok();
  return FailExecution(txn, wakeup.execution_id, reason, ended);
}

Status Engine::EndAsIs(StoreTxn& txn, int64_t id, ExecutionStatus status, const std::string& reason, bool& ended) {
  ended = false;
  auto row = txn.GetExecutionAsIs(id);
  if (!row.ok()) return row.status();
  if (!*row) return Status::Ok();
  auto done = txn.EndUnreadable(id, status, reason, clock_.NowMillis());
  if (!done.ok()) return done.status();
  ended = *done;
  if (!ended) return Status::Ok();
  // Counted at the nodes it waited at when its state reads (an unreadable state is left empty:
  // then its waiting counts stay, as nothing says where it waited).
  return CountEndAtWaitingNodes(txn, **row, status);
}

Status Engine::FailExecution(StoreTxn& txn, int64_t id, const std::string& reason, bool& ended) {
  Status s = EndById(txn, id, ExecutionStatus::kFailed, reason, ended);
  return s.code() == StatusCode::kNotFound ? Status::Ok() : s;  // gone: nothing to fail
}

const dsl::NodeDef* Engine::AudienceOf(const dsl::FlowGraph& graph, const dsl::ChainDef& chain) const {
  const dsl::Construct* c = &graph.construct(chain.root);
  if (c->kind == dsl::ConstructKind::kThen && c->children.size() > c->pre_count)
    c = &graph.construct(c->children[c->pre_count]);
  if (c->kind != dsl::ConstructKind::kNode) return nullptr;
  const dsl::NodeDef& node = graph.node(static_cast<uint32_t>(c->node));
  if (!node.kind || !node.config || !node.kind->AudienceFilter(*node.config)) return nullptr;
  return &node;
}

Status Engine::StartFanout(StoreTxn& txn, const std::string& chain, const std::string& entry_key,
                           bool& has_audience) {
  has_audience = false;
  auto graph = current();
  if (!graph) return Status::Precondition("no flows are deployed");
  int32_t c = graph->FindChain(chain);
  if (c == dsl::kNone) return Status::NotFound("no chain named '" + chain + "'");
  if (!AudienceOf(*graph, graph->chain(static_cast<uint32_t>(c)))) return Status::Ok();
  has_audience = true;
  // Pending fan-outs live in the store (meta "fanouts"), so that a restart carries on where the
  // last committed page ended.
  auto meta = txn.GetMeta("fanouts");
  if (!meta.ok()) return meta.status();
  json::array list;
  if (*meta) {
    boost::system::error_code ec;
    json::value v = json::parse(**meta, ec);
    if (!ec && v.is_array()) list = v.as_array();
  }
  list.push_back(json::object{{"chain", chain}, {"set", graph->version()}, {"key", entry_key}, {"after", ""}});
  fanouts_pending_ = true;
  return txn.PutMeta("fanouts", json::serialize(list));
}

Status Engine::ContinueFanouts(StoreTxn& txn, int& started, bool& more,
                               std::vector<std::pair<std::string, std::string>>& skipped) {
  started = 0;
  more = false;
  skipped.clear();
  auto meta = txn.GetMeta("fanouts");
  if (!meta.ok()) return meta.status();
  json::array list;
  if (*meta) {
    boost::system::error_code ec;
    json::value v = json::parse(**meta, ec);
    if (!ec && v.is_array()) list = v.as_array();
  }
  if (list.empty()) {
    fanouts_pending_ = false;
    return Status::Ok();
  }
  json::object& job = list[0].as_object();
  std::string chain(job["chain"].as_string()), key(job["key"].as_string()), after(job["after"].as_string());
  auto graph = GraphFor(txn, std::string(job["set"].as_string()));
  bool finished = true;
  if (graph.ok()) {
    int32_t c = (*graph)->FindChain(chain);
    const dsl::NodeDef* audience = c == dsl::kNone ? nullptr : AudienceOf(**graph, (*graph)->chain(static_cast<uint32_t>(c)));
    if (audience) {
      const dsl::Expression* where = audience->kind->AudienceFilter(*audience->config);
      auto page = txn.ListUsers(after, options_.fanout_page);
      if (!page.ok()) return page.status();
      json::value tick = json::object{{"type", "audience"}, {"key", key}};
      skipped = std::move(page->unreadable);
      for (UserRecord& user : page->users) {
        json::value user_json = UserJson(user);
        dsl::Scope scope{&user_json, &tick, nullptr, nullptr};
        dsl::Value v = where->Evaluate(scope);
        if (v.kind() != dsl::Value::Kind::kBool || !v.as_bool()) continue;
        int64_t id = 0;
        std::string refused;
        if (Status s = Enroll(txn, *graph, static_cast<uint32_t>(c), user, tick, "fanout", id, refused, &key); !s.ok())
          return s;
        if (id) ++started;
      }
      if (page->rows > 0) after = page->last_id;
      finished = static_cast<int>(page->rows) < options_.fanout_page;
      job["after"] = after;
    }
  }
  if (finished) list.erase(list.begin());
  more = !list.empty();
  fanouts_pending_ = more;
  return txn.PutMeta("fanouts", json::serialize(list));
}

Status Engine::ResolveUser(StoreTxn& txn, const json::object& identities, std::string& user_id,
                           UserRecord* out, bool* created) {
  if (created) *created = false;
  // Identities in a stable order, so that the same event always resolves the same way.
  std::vector<std::pair<std::string, std::string>> ids;
  for (const auto& kv : identities)
    if (kv.value().is_string() && !kv.value().as_string().empty())
      ids.emplace_back(std::string(kv.key()), std::string(kv.value().as_string()));
  std::sort(ids.begin(), ids.end());
  size_t known_free = 0;  // ids[0 .. known_free) are held by nobody (looked up just now)
  if (user_id.empty()) {
    for (const auto& [kind, value] : ids) {
      auto found = txn.FindUserByIdentity(kind, value);
      if (!found.ok()) return found.status();
      if (*found) {
        user_id = **found;
        break;
      }
      ++known_free;
    }
  }
  if (user_id.empty()) {
    if (ids.empty()) return Status::Invalid("an event needs user_id or identities");
    user_id = ids[0].first + ":" + ids[0].second;
  }
  if (ids.empty()) return Status::Ok();
  // A new user is written once, with its identities (not by LoadUser and then again).
  UserRecord user;
  auto existing = txn.GetUser(user_id);
  if (!existing.ok()) return existing.status();
  bool changed = false;
  if (*existing) {
    user = std::move(**existing);
  } else {
    user.id = user_id;
    user.created_ms = user.updated_ms = clock_.NowMillis();
    changed = true;
    // A new user takes every identity unless one is another user's: tried as one insert (its
    // conflicts are found by the inserts themselves), looked up one by one below when refused.
    for (const auto& [kind, value] : ids) user.identities[kind] = value;
    Status s = txn.CreateUser(user);
    if (s.ok()) {
      if (created) *created = true;
      if (out) *out = std::move(user);
      return Status::Ok();
    }
    if (s.code() != StatusCode::kAlreadyExists) return s;
    user.identities.clear();
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto& [kind, value] = ids[i];
    const json::value* have = user.identities.if_contains(kind);
    if (have && have->is_string() && have->as_string() == value) continue;
    if (i >= known_free) {
      auto holder = txn.FindUserByIdentity(kind, value);
      if (!holder.ok()) return holder.status();
      if (*holder && **holder != user_id) continue;  // another user's: never move it silently
    }
    user.identities[kind] = value;
    changed = true;
  }
  if (changed) {
    if (*existing) user.updated_ms = clock_.NowMillis();
    Status s = *existing ? txn.PutUser(user) : txn.CreateUser(user);
    if (!s.ok()) return s;
    if (!*existing && created) *created = true;
  }
  if (out) *out = std::move(user);
  return Status::Ok();
}

Status Engine::SetPaused(StoreTxn& txn, const std::string& flow, bool paused, bool& found) {
  found = false;
  auto flows = txn.ListFlows();
  if (!flows.ok()) return flows.status();
  for (storage::FlowRecord f : *flows) {
    if (f.name != flow) continue;
    found = true;
    f.paused = paused;
    f.updated_ms = clock_.NowMillis();
    if (Status s = txn.PutFlow(f); !s.ok()) return s;
    std::lock_guard<std::mutex> lock(mu_);
    paused_[flow] = paused;
  }
  return Status::Ok();
}

bool Engine::IsPaused(const std::string& flow) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = paused_.find(flow);
  return it != paused_.end() && it->second;
}

Status Engine::RunDueSchedules(StoreTxn& txn, int& started) {
  started = 0;
  auto graph = current();
  if (!graph) return Status::Ok();
  int64_t now = clock_.NowMillis();
  for (size_t c = 0; c < graph->chains().size(); ++c) {
    const dsl::ChainDef& chain = graph->chain(static_cast<uint32_t>(c));
    if (chain.trigger.kind != dsl::Trigger::Kind::kSchedule) continue;
    auto last = txn.GetLastTick(chain.name);
    if (!last.ok()) return last.status();
    if (*last == 0) {
      // First sight of this schedule: start counting from now (no backfill of history).
      if (Status s = txn.SetLastTick(chain.name, now); !s.ok()) return s;
      std::lock_guard<std::mutex> lock(mu_);
      last_ticks_[chain.name] = now;
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_ticks_[chain.name] = *last;
    }
    int64_t next = chain.trigger.schedule->NextAfter(*last, chain.trigger.tz);
    if (next < 0 || next > now) continue;
    // Every tick missed while down collapses into this one run.
    int64_t latest = next;
    for (int64_t t = next; t >= 0 && t <= now; t = chain.trigger.schedule->NextAfter(t, chain.trigger.tz)) latest = t;
    if (Status s = txn.SetLastTick(chain.name, latest); !s.ok()) return s;
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_ticks_[chain.name] = latest;
    }
    std::string tick_text = FormatTimestamp(latest);
    bool has_audience = false;
    if (Status s = StartFanout(txn, chain.name, tick_text, has_audience); !s.ok()) return s;
    if (has_audience) continue;
    UserRecord system_user;
    if (Status s = LoadUser(txn, "", system_user); !s.ok()) return s;
    json::value tick = json::object{{"type", "schedule"}, {"timestamp", tick_text}};
    int64_t id = 0;
    std::string refused;
    // One execution per tick: the tick is its entry key, whatever the entry rule says.
    if (Status s = Enroll(txn, graph, static_cast<uint32_t>(c), system_user, tick, "schedule", id, refused, &tick_text);
        !s.ok())
      return s;
    if (id) ++started;
  }
  return Status::Ok();
}

int64_t Engine::NextScheduleDue() const {
  auto graph = current();
  if (!graph) return -1;
  std::lock_guard<std::mutex> lock(mu_);
  int64_t best = -1;
  for (const dsl::ChainDef& chain : graph->chains()) {
    if (chain.trigger.kind != dsl::Trigger::Kind::kSchedule) continue;
    auto it = last_ticks_.find(chain.name);
    int64_t next = it == last_ticks_.end() ? clock_.NowMillis() : chain.trigger.schedule->NextAfter(it->second, chain.trigger.tz);
    if (next >= 0 && (best < 0 || next < best)) best = next;
  }
  return best;
}

}  // namespace reach::engine
