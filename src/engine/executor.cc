#include "engine/executor.h"

#include <algorithm>

#include <boost/json.hpp>

#include "dsl/node_kind.h"

namespace reach::engine {

namespace json = boost::json;
using dsl::Construct;
using dsl::ConstructKind;
using dsl::kNone;

namespace {

// The child frame under `key`, created empty when missing.
json::object& Sub(json::object& f, std::string_view key) {
  json::value& v = f[key];
  if (!v.is_object()) v.emplace_object();
  return v.as_object();
}

int64_t GetInt(const json::object& f, std::string_view key, int64_t dflt = 0) {
  const json::value* v = f.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : dflt;
}

void AddWaitId(json::object& f, int64_t id) {
  json::value& w = f["w"];
  if (!w.is_array()) w.emplace_array();
  w.as_array().push_back(id);
}

}  // namespace

json::value UserJson(const storage::UserRecord& user) {
  json::object o;
  o.reserve(6);  // one table, not one per growth step
  o["id"] = user.id;
  o["traits"] = user.traits;
  o["tags"] = user.tags;
  o["timezone"] = user.timezone;
  o["identities"] = user.identities;
  o["subscriptions"] = user.subscriptions;
  return o;
}

// The NodeContext a node sees during one call.
class Executor::Context final : public NodeContext, public dsl::EvalHost {
 public:
  Context(Executor& ex, const dsl::Construct& use, json::object& frame, const Wakeup* wakeup)
      : ex_(ex), use_(use), frame_(frame), wakeup_(wakeup) {
    scope_.user = nullptr;  // built (and read, if need be) when an expression first needs it: LazyUser
    scope_.event = ex.event_parsed_ ? &ex.event_json_ : nullptr;  // else parsed when needed: LazyEvent
    scope_.ctx = &ex.ctx_json_;
    scope_.host = this;
  }

  int64_t NowMillis() const override { return ex_.host_.NowMillis(); }
  int64_t CountEvents(std::string_view type, int64_t window_millis) const override {
    return ex_.host_.CountEvents(ex_.user_->id, type, NowMillis() - window_millis);
  }
  const json::value* LazyUser() const override { return &ex_.UserView(); }
  const json::value* LazyEvent() const override { return &ex_.EventView(); }
  const dsl::Scope& scope() const override { return scope_; }
  json::object& ctx() override { return ex_.ctx_json_.as_object(); }
  storage::UserRecord& user() override { return ex_.LoadedUser(); }
  void UserChanged() override {
    ex_.user_changed_ = true;
    ex_.user_json_valid_ = false;  // built again when next needed
  }
  const json::value* data() const override { return use_.data ? &*use_.data : nullptr; }
  json::object& frame() override { return Sub(frame_, "n"); }
  const Wakeup* wakeup() const override { return wakeup_; }
  int64_t WaitForEvent(const std::string& type) override {
    int64_t id = ex_.NewWaitId();
    Check(ex_.host_.AddWait(ex_.exec_->id, id, type));
    AddWaitId(frame_, id);
    return id;
  }
  int64_t WaitUntil(int64_t due_ms) override {
    int64_t id = ex_.NewWaitId();
    Check(ex_.host_.AddTimer(ex_.exec_->id, id, due_ms));
    AddWaitId(frame_, id);
    return id;
  }
  int64_t WaitForEventUntil(const std::string& type, int64_t due_ms) override {
    int64_t id = ex_.NewWaitId();
    Check(ex_.host_.AddWait(ex_.exec_->id, id, type));
    Check(ex_.host_.AddTimer(ex_.exec_->id, id, due_ms));
    AddWaitId(frame_, id);
    return id;
  }
  void SetEvent(const json::value& event) override {
    ex_.event_json_ = event;
    ex_.event_parsed_ = true;
    ex_.event_text_.clear();
  }
  int64_t CountEvents(std::string_view type, int64_t window_ms) override {
    return static_cast<const Context*>(this)->CountEvents(type, window_ms);
  }
  int64_t execution_id() const override {
    Status s = ex_.host_.EnsureStored(*ex_.exec_);
    if (!s.ok() && ex_.host_status_.ok()) ex_.host_status_ = s;
    return ex_.exec_->id;
  }
  const std::string& chain() const override { return ex_.exec_->chain; }
  const std::string& flow_time_zone() const override { return ex_.flow_tz_; }
  bool Send(SendRequest request, std::string& error) override {
    // The deterministic send key: execution, construct (the use of the node), and how many
    // times this use sent before (loops, retries). The count is part of the execution's state,
    // committed with the send record, so a replay after a crash makes the same key.
    if (Status s = ex_.host_.EnsureStored(*ex_.exec_); !s.ok()) {  // the key holds the id
      Check(s);
      error = s.message();
      return false;
    }
    json::value& count = Sub(ex_.exec_->state, "k")[std::to_string(use_.index)];
    int64_t n = count.is_int64() ? count.as_int64() : 0;
    count = n + 1;
    std::string key = std::to_string(ex_.exec_->id) + ":" + std::to_string(use_.index) + ":" + std::to_string(n);
    return ex_.host_.Send(*ex_.exec_, key, std::move(request), error);
  }
  void Note(std::string line) override { ex_.host_.Note(std::move(line)); }
  bool noting() const override { return ex_.host_.WantsNotes(); }
  bool SendsHeld() const override { return ex_.host_.FlowPaused(ex_.exec_->flow); }

 private:
  void Check(const Status& s) {
    if (!s.ok() && ex_.host_status_.ok()) ex_.host_status_ = s;
  }
  Executor& ex_;
  const dsl::Construct& use_;
  json::object& frame_;
  const Wakeup* wakeup_;
  dsl::Scope scope_;
};

Executor::Executor(const dsl::FlowGraph& graph, const NodeExecutorRegistry& executors, ExecutionHost& host,
                   ExecutorOptions options)
    : graph_(graph), executors_(executors), host_(host), options_(options) {}

Executor::R Executor::Fail(std::string error, std::string name) {
  return {St::kFail, nullptr, std::move(error), std::move(name)};
}

int64_t Executor::NewWaitId() {
  json::value& next = exec_->state["next_wait"];
  int64_t id = next.is_int64() ? next.as_int64() : 1;
  next = id + 1;
  return id;
}

bool Executor::Targets(const json::object& frame) const {
  if (!wakeup_) return false;
  const json::value* w = frame.if_contains("w");
  if (!w || !w->is_array()) return false;
  for (const json::value& id : w->as_array())
    if (id.is_int64() && id.as_int64() == wakeup_->wait_id) return true;
  return false;
}

void Executor::Forget(json::object& frame) {
  const json::value* w = frame.if_contains("w");
  if (w && w->is_array())
    for (const json::value& id : w->as_array())
      if (id.is_int64()) {
        Status s = host_.RemoveWakeup(exec_->id, id.as_int64());
        if (!s.ok() && host_status_.ok()) host_status_ = s;
      }
  frame.erase("w");
}

void Executor::Abandon(json::value& frame) {
  if (frame.is_object()) {
    Forget(frame.as_object());
    for (auto& kv : frame.as_object()) Abandon(kv.value());
  } else if (frame.is_array()) {
    for (json::value& v : frame.as_array()) Abandon(v);
  }
}

void Executor::Step(const std::string& label) {
  if (!exec_->trace.empty()) exec_->trace += "==>";
  exec_->trace += label;
}

storage::UserRecord& Executor::LoadedUser() {
  if (!user_loaded_) {
    user_loaded_ = true;
    Status s = host_.LoadUser(*user_);
    if (!s.ok() && host_status_.ok()) host_status_ = s;
  }
  return *user_;
}

const json::value& Executor::UserView() {
  // A copy of the whole profile: made only for a run whose expressions read `user`.
  if (!user_json_valid_) {
    user_json_ = UserJson(LoadedUser());
    user_json_valid_ = true;
  }
  return user_json_;
}

const json::value& Executor::EventView() {
  if (!event_parsed_) {
    event_parsed_ = true;
    boost::system::error_code ec;
    event_json_ = json::parse(event_text_, ec);
    if (ec) {
      event_json_ = nullptr;
      if (host_status_.ok())
        host_status_ = Status::Corruption("execution " + std::to_string(exec_->id) +
                                          ": stored event does not parse: " + ec.message());
    }
    event_text_.clear();
  }
  return event_json_;
}

Status Executor::Run(storage::ExecutionRecord& execution, storage::UserRecord& user, const Wakeup* wakeup,
                     bool user_loaded) {
  exec_ = &execution;
  user_ = &user;
  wakeup_ = wakeup;
  user_changed_ = false;
  host_status_ = Status::Ok();
  steps_ = 0;
  waiting_nodes_.clear();
  user_loaded_ = user_loaded;
  user_json_valid_ = false;
  user_json_ = nullptr;

  int32_t chain = graph_.FindChain(execution.chain);
  if (chain == kNone) {
    execution.status = storage::ExecutionStatus::kFailed;
    execution.error = "chain '" + execution.chain + "' is not in flow set " + execution.set_version;
    return Status::Ok();
  }
  if (storage::IsFinished(execution.status)) return Status::Ok();
  flow_tz_ = graph_.chain(static_cast<uint32_t>(chain)).tz;

  // The run works on the execution's event and ctx in place of copies: moved in here and moved
  // back on every way out (nothing reads them from the record while it runs).
  event_json_ = std::move(execution.event);
  event_text_ = std::move(execution.event_text);
  execution.event_text.clear();
  event_parsed_ = event_text_.empty();
  ctx_json_ = std::move(execution.ctx);
  struct GiveBack {
    Executor& ex;
    storage::ExecutionRecord& e;
    ~GiveBack() {
      e.event = std::move(ex.event_json_);
      if (!ex.event_parsed_) e.event_text = std::move(ex.event_text_);  // never looked at: stored as read
      ex.event_text_.clear();
      if (ex.ctx_json_.is_object()) e.ctx = std::move(ex.ctx_json_.as_object());
      ex.ctx_json_ = json::object();
      ex.event_json_ = nullptr;
    }
  } give_back{*this, execution};

  // Boost.JSON objects move their values when a key is added, so every key a run may add to
  // a frame is created before references into that frame are taken (here and in each Run*).
  if (!execution.state.contains("next_wait")) execution.state["next_wait"] = 1;
  Sub(execution.state, "k");
  Sub(execution.state, "root");
  R r = Run(graph_.chain(static_cast<uint32_t>(chain)).root, execution.state["root"].as_object(), true);
  if (!host_status_.ok()) return host_status_;
  switch (r.st) {
    case St::kSuspend:
      execution.status = storage::ExecutionStatus::kWaiting;
      break;
    case St::kOk:
    case St::kExit:
      execution.status = storage::ExecutionStatus::kCompleted;
      if (r.st == St::kExit && !r.error.empty()) ctx_json_.as_object()["exit_reason"] = r.error;
      break;
    case St::kFail:
      execution.status = storage::ExecutionStatus::kFailed;
      execution.error = r.error;
      break;
  }
  if (storage::IsFinished(execution.status)) {
    // Whatever is still registered (an abandoned branch's wait) goes with it.
    json::value root = std::move(execution.state["root"]);
    Abandon(root);
    execution.state.erase("root");
    waiting_nodes_.clear();
  }
  return host_status_;
}

Executor::R Executor::Run(uint32_t index, json::object& frame, bool step) {
  if (++steps_ > options_.max_steps_per_run)
    return Fail("more than " + std::to_string(options_.max_steps_per_run) + " steps in one run (a runaway loop?)",
                "StepLimit");
  const Construct& c = graph_.construct(index);
  uint32_t retries = c.retry;
  if (c.kind == ConstructKind::kNode) retries += graph_.node(static_cast<uint32_t>(c.node)).retry;
  if (retries == 0 && c.max_wait_millis == 0) return RunInner(index, frame, step);
  return RunGuarded(index, frame, step, retries);
}

Executor::R Executor::RunGuarded(uint32_t index, json::object& f, bool step, uint32_t retries) {
  const Construct& c = graph_.construct(index);
  int64_t now = host_.NowMillis();
  if (c.max_wait_millis && !f.contains("dw")) {
    int64_t id = NewWaitId();
    host_status_ = host_.AddTimer(exec_->id, id, now + c.max_wait_millis);
    f["dw"] = id;
    AddWaitId(f, id);
  }
  f["r"];  // every key exists before references into the frame are taken
  f["a"] = GetInt(f, "a");
  if (wakeup_ && f.contains("dw") && wakeup_->wait_id == GetInt(f, "dw")) {
    Abandon(f["r"]);
    Forget(f);
    return Fail("timed out after " + std::to_string(c.max_wait_millis) + " ms (maxWait)", "TimeoutException");
  }
  if (f.contains("bw")) {
    if (!wakeup_ || wakeup_->wait_id != GetInt(f, "bw")) return {St::kSuspend, nullptr, {}, {}};
    Status s = host_.RemoveWakeup(exec_->id, GetInt(f, "bw"));
    if (!s.ok()) host_status_ = s;
    f.erase("bw");
  }
  for (;;) {
    R r = RunInner(index, Sub(f, "r"), step);
    int64_t attempt = GetInt(f, "a");
    bool retry_matches = c.retry_on.empty() ||
                         std::find(c.retry_on.begin(), c.retry_on.end(), r.error_name) != c.retry_on.end();
    if (r.st == St::kFail && attempt < retries && retry_matches) {
      f["a"] = attempt + 1;
      Abandon(f["r"]);
      f["r"].emplace_object();
      int64_t delay = 0;
      if (options_.retry_backoff_base_ms > 0) {
        delay = options_.retry_backoff_base_ms << std::min<int64_t>(attempt, 30);
        delay = std::min(delay, options_.retry_backoff_max_ms);
      }
      if (delay > 0) {
        int64_t id = NewWaitId();
        Status s = host_.AddTimer(exec_->id, id, host_.NowMillis() + delay);
        if (!s.ok()) host_status_ = s;
        f["bw"] = id;
        AddWaitId(f, id);  // so that abandoning the construct removes the timer too
        return {St::kSuspend, nullptr, {}, {}};
      }
      continue;
    }
    if (r.st != St::kSuspend) Forget(f);
    return r;
  }
}

Executor::R Executor::RunInner(uint32_t index, json::object& f, bool step) {
  const Construct& c = graph_.construct(index);
  switch (c.kind) {
    case ConstructKind::kNode: return RunNode(c, f, step);
    case ConstructKind::kChain: return Run(graph_.chain(static_cast<uint32_t>(c.chain)).root, Sub(f, "c"), true);
    case ConstructKind::kThen: return RunThen(c, f);
    case ConstructKind::kWhen: return RunWhen(c, f);
    case ConstructKind::kIf: return RunIf(c, f);
    case ConstructKind::kSwitch: return RunSwitch(c, f);
    case ConstructKind::kFor:
    case ConstructKind::kWhile:
    case ConstructKind::kIterator: return RunLoop(c, f);
    case ConstructKind::kCatch: return RunCatch(c, f);
    case ConstructKind::kAnd:
    case ConstructKind::kOr:
    case ConstructKind::kNot: return RunLogic(c);
  }
  return Fail("unknown construct");
}

Executor::R Executor::RunNode(const Construct& c, json::object& f, bool step) {
  const dsl::NodeDef& def = graph_.node(static_cast<uint32_t>(c.node));
  // A suspended node whose wakeup this is not: nothing to do (and no call into the node).
  const json::value* registered = f.if_contains("w");
  if (registered && registered->is_array() && !registered->as_array().empty() && !Targets(f)) {
    waiting_nodes_.push_back(def.id);
    return {St::kSuspend, nullptr, {}, {}};
  }
  // The node's own frame ("n") and its wait ids ("w") are added when the node uses them; room is
  // made first so that adding them never moves the frame's values (a node holds a reference to
  // "n" while it registers a wait). With "in": one table for a new frame, not one per key.
  f.reserve(f.size() + 3);
  if (!f.contains("in")) {
    f["in"] = true;
    host_.BumpStats(def.id, 1, 0, 0);
  }
  const NodeExecutor* executor = executors_.Find(def.type);
  NodeOutcome out;
  if (!executor) {
    out = NodeOutcome::Failed("node kind '" + def.type + "' cannot run in this build", "Unsupported");
  } else {
    const Wakeup* mine = Targets(f) ? wakeup_ : nullptr;
    Context context(*this, c, f, mine);
    out = executor->Execute(def, context);
  }
  if (out.kind == NodeOutcome::Kind::kSuspended) {
    waiting_nodes_.push_back(def.id);
    return {St::kSuspend, nullptr, {}, {}};
  }
  Forget(f);
  f.erase("in");
  f.erase("n");
  Step(def.label);
  host_.StepDone(def.type, out.kind == NodeOutcome::Kind::kFailed);
  if (host_.WantsNotes()) {
    switch (out.kind) {
      case NodeOutcome::Kind::kFailed: host_.Note(def.label + ": failed: " + out.error); break;
      case NodeOutcome::Kind::kExit: host_.Note(def.label + ": exit" + (out.error.empty() ? "" : " (" + out.error + ")")); break;
      default: host_.Note(def.label + ": " + (out.value.is_null() ? std::string("done") : json::serialize(out.value)));
    }
  }
  switch (out.kind) {
    case NodeOutcome::Kind::kFailed:
      host_.BumpStats(def.id, 0, 0, 1);
      return {St::kFail, nullptr, def.id + ": " + out.error, out.error_name};
    case NodeOutcome::Kind::kExit:
      host_.BumpStats(def.id, 0, 1, 0);
      return {St::kExit, nullptr, out.error, {}};
    default:
      break;
  }
  host_.BumpStats(def.id, 0, 1, 0);
  if (step && def.kind && def.kind->GatesWhenFalse() && out.value.is_bool() && !out.value.as_bool())
    return {St::kExit, nullptr, def.id + " is false", {}};
  return {St::kOk, std::move(out.value), {}, {}};
}

Executor::R Executor::RunThen(const Construct& c, json::object& f) {
  size_t n = c.children.size();
  size_t body_end = n - c.finally_count;
  size_t i = static_cast<size_t>(GetInt(f, "i"));
  f.reserve(3);  // "c", "i" and, after a failure, "e": one table
  f["c"];
  f["i"] = static_cast<int64_t>(i);
  for (; i < n; ++i) {
    if (i < body_end && f.contains("e")) i = body_end;  // a failure skips to FINALLY
    if (i >= n) break;
    f["i"] = static_cast<int64_t>(i);
    R r = Run(c.children[i], Sub(f, "c"), true);
    if (r.st == St::kSuspend || r.st == St::kExit) return r;
    Sub(f, "c").clear();  // the next child's frame starts empty, in the room of this one's
    if (r.st == St::kFail) {
      if (!f.contains("e")) f["e"] = json::object{{"m", r.error}, {"k", r.error_name}};
      if (i < body_end) i = body_end - 1;  // the loop's ++i lands on the first FINALLY item
    }
  }
  if (const json::value* e = f.if_contains("e")) {
    const json::object& eo = e->as_object();
    return Fail(std::string(eo.at("m").as_string()), std::string(eo.at("k").as_string()));
  }
  return {};
}

bool Executor::BranchMatches(uint32_t index, const std::string& name) const {
  const Construct& c = graph_.construct(index);
  if (c.user_id == name || c.tag == name) return true;
  if (c.kind == ConstructKind::kNode) return graph_.node(static_cast<uint32_t>(c.node)).id == name;
  if (c.kind == ConstructKind::kChain) return graph_.chain(static_cast<uint32_t>(c.chain)).name == name;
  return false;
}

Executor::R Executor::RunBranches(const Construct& c, json::object& f, size_t n,
                                  const std::function<R(size_t, json::object&)>& branch,
                                  const std::function<bool(size_t, const std::string&)>& named) {
  // s[i]: 0 unfinished, 1 succeeded, 2 failed, 3 abandoned.
  if (!f.contains("s")) {
    f["s"] = json::array(n, json::value(0));
    f["b"] = json::array(n, json::object());
  }
  json::array& s = f["s"].as_array();
  json::array& b = f["b"].as_array();
  R first_error;
  bool failed = false;
  for (size_t i = 0; i < n; ++i) {
    if (s[i].as_int64() != 0) continue;
    R r = branch(i, b[i].as_object());
    if (r.st == St::kExit) {
      for (json::value& frame : b) Abandon(frame);
      return r;
    }
    if (r.st == St::kSuspend) continue;
    b[i].emplace_object();
    if (r.st == St::kOk) s[i] = 1;
    else {
      s[i] = 2;
      if (!failed) first_error = r;
      failed = true;
    }
  }
  auto finish = [&](R r) {
    for (size_t i = 0; i < n; ++i)
      if (s[i].as_int64() == 0) {
        Abandon(b[i]);
        b[i].emplace_object();
        s[i] = 3;
      }
    return r;
  };
  // Any failed branch fails the whole (unless errors are ignored), as in LiteFlow.
  if (failed && !c.ignore_error) return finish(first_error);
  size_t done = 0, ok = 0;
  for (size_t i = 0; i < n; ++i) {
    if (s[i].as_int64() != 0) ++done;
    if (s[i].as_int64() == 1) ++ok;
  }
  if (c.any && ok > 0) return finish({});
  if (!c.must.empty()) {
    // Done when every named branch has finished; a name that matches no branch never does.
    bool all = true;
    for (const std::string& name : c.must) {
      bool finished = false;
      for (size_t i = 0; i < n; ++i)
        if (named(i, name)) {
          finished = s[i].as_int64() != 0;
          break;
        }
      all = all && finished;
    }
    if (all) return finish({});
  }
  if (done == n) {
    if (c.any && ok == 0 && !c.ignore_error) return first_error.st == St::kFail ? first_error : Fail("no branch succeeded");
    return {};
  }
  return {St::kSuspend, nullptr, {}, {}};
}

Executor::R Executor::RunWhen(const Construct& c, json::object& f) {
  return RunBranches(
      c, f, c.children.size(), [&](size_t i, json::object& frame) { return Run(c.children[i], frame, true); },
      [&](size_t i, const std::string& name) { return BranchMatches(c.children[i], name); });
}

Executor::R Executor::Condition(uint32_t index, json::object& frame) {
  R r = Run(index, frame, false);
  if (r.st != St::kOk) return r;
  if (!r.value.is_bool()) {
    const Construct& c = graph_.construct(index);
    std::string who = c.kind == ConstructKind::kNode ? graph_.node(static_cast<uint32_t>(c.node)).id
                                                     : std::string(dsl::ConstructKindName(c.kind));
    return Fail(who + " must give a boolean, not " + json::serialize(r.value), "TypeError");
  }
  return r;
}

Executor::R Executor::RunLogic(const Construct& c) {
  // Operands cannot suspend (the compiler refuses waits inside AND/OR/NOT), so no frames.
  for (uint32_t operand : c.children) {
    json::object scratch;
    R r = Condition(operand, scratch);
    if (r.st != St::kOk) return r;
    bool v = r.value.as_bool();
    if (c.kind == ConstructKind::kNot) return {St::kOk, !v, {}, {}};
    if (c.kind == ConstructKind::kAnd && !v) return {St::kOk, false, {}, {}};
    if (c.kind == ConstructKind::kOr && v) return {St::kOk, true, {}, {}};
  }
  return {St::kOk, c.kind == ConstructKind::kAnd, {}, {}};
}

Executor::R Executor::RunIf(const Construct& c, json::object& f) {
  f["c"];
  if (GetInt(f, "p") == 0) {
    R r = Condition(static_cast<uint32_t>(c.condition), Sub(f, "c"));
    if (r.st != St::kOk) return r;
    f["c"].emplace_object();
    f["p"] = 1;
    f["br"] = r.value.as_bool() ? 0 : (c.children.size() > 1 ? 1 : -1);
  }
  int64_t br = GetInt(f, "br", -1);
  if (br < 0) return {};
  return Run(c.children[static_cast<size_t>(br)], Sub(f, "c"), true);
}

Executor::R Executor::RunSwitch(const Construct& c, json::object& f) {
  f["c"];
  if (GetInt(f, "p") == 0) {
    R r = Run(static_cast<uint32_t>(c.condition), Sub(f, "c"), false);
    if (r.st != St::kOk) return r;
    f["c"].emplace_object();
    std::string pick = r.value.is_string() ? std::string(r.value.as_string())
                       : r.value.is_null() ? std::string()
                                           : json::serialize(r.value);
    // LiteFlow's target syntax: "id", "tag:t" or ":t" (by tag), "id:t" (by id and tag).
    std::string id = pick, tag;
    if (auto colon = pick.find(':'); colon != std::string::npos) {
      id = pick.substr(0, colon);
      tag = pick.substr(colon + 1);
      if (id == "tag") id.clear();
    }
    int64_t target = -1;
    if (!pick.empty()) {
      for (uint32_t t : c.children) {
        const Construct& tc = graph_.construct(t);
        bool id_ok = id.empty() || BranchMatches(t, id);
        bool tag_ok = tag.empty() || tc.tag == tag;
        if (!id.empty() && !tag.empty()) id_ok = (tc.user_id == id || BranchMatches(t, id)) && tc.tag == tag;
        if (id_ok && tag_ok && (!id.empty() || !tag.empty())) {
          target = t;
          break;
        }
      }
    }
    if (target < 0) {
      if (c.default_target == kNone)
        return Fail("SWITCH: no target for '" + pick + "' and no DEFAULT", "NoSwitchTarget");
      target = c.default_target;
    }
    f["p"] = 1;
    f["t"] = target;
  }
  return Run(static_cast<uint32_t>(GetInt(f, "t")), Sub(f, "c"), true);
}

Executor::R Executor::RunLoop(const Construct& c, json::object& f) {
  f["c"];
  // Phase 0: find out how many passes (FOR count, ITERATOR list); then 1 body, 2 BREAK check,
  // 3 WHILE condition.
  if (!f.contains("n")) {
    if (c.kind == ConstructKind::kFor) {
      if (c.condition == kNone) {
        Step("LOOP_" + std::to_string(c.for_count));  // LiteFlow's pseudo-step for FOR(n)
        f["n"] = c.for_count;
      } else {
        R r = Run(static_cast<uint32_t>(c.condition), Sub(f, "c"), false);
        if (r.st != St::kOk) return r;
        f["c"].emplace_object();
        if (!r.value.is_number()) return Fail("FOR count must be a number, not " + json::serialize(r.value), "TypeError");
        f["n"] = std::max<int64_t>(0, static_cast<int64_t>(r.value.to_number<double>()));
      }
    } else if (c.kind == ConstructKind::kIterator) {
      R r = Run(static_cast<uint32_t>(c.condition), Sub(f, "c"), false);
      if (r.st != St::kOk) return r;
      f["c"].emplace_object();
      if (!r.value.is_array()) return Fail("ITERATOR needs a list, not " + json::serialize(r.value), "TypeError");
      f["n"] = static_cast<int64_t>(r.value.as_array().size());
      f["l"] = std::move(r.value);
    } else {
      f["n"] = -1;  // WHILE: as long as the condition holds
      f["p"] = 3;
    }
    f["i"] = 0;
    if (!f.contains("p")) f["p"] = 1;
  }
  int64_t n = GetInt(f, "n");
  if (c.parallel && c.kind != ConstructKind::kWhile) return RunParallelLoop(c, f, n);
  for (;;) {
    int64_t i = GetInt(f, "i");
    int64_t p = GetInt(f, "p");
    if (n >= 0 && i >= n) break;
    if (p == 3) {
      R r = Condition(static_cast<uint32_t>(c.condition), Sub(f, "c"));
      if (r.st != St::kOk) return r;
      f["c"].emplace_object();
      if (!r.value.as_bool()) break;
      f["p"] = p = 1;
    }
    if (p == 1) {
      if (c.kind == ConstructKind::kIterator) {
        ctx_json_.as_object()["item"] = f["l"].as_array()[static_cast<size_t>(i)];
        ctx_json_.as_object()["index"] = i;
      } else {
        ctx_json_.as_object()["index"] = i;
      }
      R r = Run(c.children[0], Sub(f, "c"), true);
      if (r.st != St::kOk) return r;
      f["c"].emplace_object();
      if (c.break_condition != kNone) f["p"] = p = 2;
    }
    if (p == 2) {
      R r = Condition(static_cast<uint32_t>(c.break_condition), Sub(f, "c"));
      if (r.st != St::kOk) return r;
      f["c"].emplace_object();
      if (r.value.as_bool()) break;
    }
    f["i"] = i + 1;
    f["p"] = c.kind == ConstructKind::kWhile ? 3 : 1;
  }
  ctx_json_.as_object().erase("item");
  ctx_json_.as_object().erase("index");
  return {};
}

Executor::R Executor::RunParallelLoop(const Construct& c, json::object& f, int64_t count) {
  // Every pass runs as a branch of its own (like WHEN); BREAK is checked after each pass and,
  // when true, the passes still running are abandoned.
  bool broke = false;
  R r = RunBranches(
      c, f, static_cast<size_t>(count),
      [&](size_t i, json::object& frame) -> R {
        if (broke) return {St::kSuspend, nullptr, {}, {}};
        if (c.kind == ConstructKind::kIterator) ctx_json_.as_object()["item"] = f["l"].as_array()[i];
        ctx_json_.as_object()["index"] = static_cast<int64_t>(i);
        frame["c"];
        if (GetInt(frame, "p") == 0) {
          R body = Run(c.children[0], Sub(frame, "c"), true);
          if (body.st != St::kOk) return body;
          frame["c"].emplace_object();
          frame["p"] = 1;
        }
        if (c.break_condition != kNone) {
          R b = Condition(static_cast<uint32_t>(c.break_condition), Sub(frame, "c"));
          if (b.st != St::kOk) return b;
          if (b.value.as_bool()) broke = true;
        }
        return {};
      },
      [](size_t, const std::string&) { return false; });
  ctx_json_.as_object().erase("item");
  ctx_json_.as_object().erase("index");
  if (broke && r.st == St::kSuspend) {
    for (json::value& frame : f["b"].as_array()) Abandon(frame);
    return {};
  }
  return r;
}

Executor::R Executor::RunCatch(const Construct& c, json::object& f) {
  f["c"];
  if (GetInt(f, "p") == 0) {
    R r = Run(c.children[0], Sub(f, "c"), true);
    if (r.st != St::kFail) return r;
    f["c"].emplace_object();
    if (c.children.size() < 2) return {};  // CATCH without DO swallows the failure
    ctx_json_.as_object()["error"] = json::object{{"message", r.error}, {"name", r.error_name}};
    f["p"] = 1;
  }
  return Run(c.children[1], Sub(f, "c"), true);
}

}  // namespace reach::engine
