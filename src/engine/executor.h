#pragma once
// Executor: runs one execution over a compiled FlowGraph with LiteFlow's semantics, and can
// stop anywhere (a node suspends) and continue later, in another process, from the state it
// wrote into the ExecutionRecord.
//
// The resumable state is a tree of frames (JSON) mirroring the active part of the construct
// tree: a THEN frame holds the index of its current item and that item's frame; a WHEN frame
// one frame per unfinished branch; a loop its iteration and phase; a node its own frame and the
// wait ids it registered. Running an execution is always "walk from the root with the frames":
// finished parts are skipped because their frames say so, suspended leaves return at once
// unless the wakeup is theirs. Nothing else is kept in memory between runs.
//
// Frame keys (kept short: they are stored for every waiting execution):
//   c  child frame            i  item index / iteration   p  phase       e  pending error
//   s  WHEN branch statuses   b  WHEN branch frames       n  loop count / node frame
//   l  ITERATOR list          a  retry attempt            r  guarded inner frame
//   w  wait ids registered here (removed when the frame finishes or is abandoned)
//   dw maxWait deadline wait id                           bw retry backoff wait id

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "common/status.h"
#include "dsl/flow_graph.h"
#include "engine/node_executor.h"
#include "storage/records.h"

namespace reach::engine {

// What the executor needs from the engine (store-backed in the daemon).
class ExecutionHost {
 public:
  virtual ~ExecutionHost() = default;
  virtual int64_t NowMillis() const = 0;
  virtual Status AddWait(int64_t execution_id, int64_t wait_id, const std::string& event_type) = 0;
  virtual Status AddTimer(int64_t execution_id, int64_t wait_id, int64_t due_ms) = 0;
  // Removes the wait and the timer registered under `wait_id` (either may not exist).
  virtual Status RemoveWakeup(int64_t execution_id, int64_t wait_id) = 0;
  virtual int64_t CountEvents(const std::string& user_id, std::string_view type, int64_t since_ms) = 0;
  virtual bool Send(const storage::ExecutionRecord& execution, const std::string& key, SendRequest request,
                    std::string& error) = 0;
  virtual void Note(std::string line) = 0;
  // Whether anyone reads the notes (`reach run` does; the daemon does not): a note is built
  // only when one is wanted.
  virtual bool WantsNotes() const { return true; }
  virtual void BumpStats(const std::string& node, int64_t entered, int64_t completed, int64_t failed) = 0;
  // Whether `flow` is paused (its sends are held). Optional.
  virtual bool FlowPaused(const std::string& flow) const { return false; }
  // A node of kind `type` finished a step (for metrics). Optional.
  virtual void StepDone(const std::string& type, bool failed) {}
  // Makes sure `execution` is in the store and has its id. A host may defer inserting a fresh
  // execution until its first run ends (one write instead of two); the executor calls this
  // before it uses the id in anything kept (a send key, a node's execution_id()). Optional.
  virtual Status EnsureStored(storage::ExecutionRecord& execution) { return Status::Ok(); }
  // Fills `user` (whose id is set) from the store, for a run that was given its user unread
  // (Executor::Run with user_loaded false) when a node or an expression first needs it.
  virtual Status LoadUser(storage::UserRecord& user) {
    return Status::Precondition("this host cannot read user '" + user.id + "'");
  }
};

struct ExecutorOptions {
  int64_t retry_backoff_base_ms = 1000;   // first retry after this; doubles each attempt; 0 = at once
  int64_t retry_backoff_max_ms = 3600000;
  int max_steps_per_run = 100000;         // a run that takes more steps fails (runaway loop)
};

class Executor {
 public:
  Executor(const dsl::FlowGraph& graph, const NodeExecutorRegistry& executors, ExecutionHost& host,
           ExecutorOptions options = {});

  // Runs `execution` (of chain execution.chain in the graph) from where its state says, with
  // `wakeup` (null for a fresh start or a plain re-run). Updates state, ctx, event, trace,
  // status and error. `user` is the execution's user (changes are flagged by user_changed()).
  // Returns non-ok only when the host failed (the caller should abandon the whole write).
  // With `user_loaded` false, `user` holds only the id and is read through the host the first
  // time a node or an expression needs it.
  Status Run(storage::ExecutionRecord& execution, storage::UserRecord& user, const Wakeup* wakeup,
             bool user_loaded = true);

  bool user_changed() const { return user_changed_; }
  // Node ids suspended after the last Run (for "waiting" stats).
  const std::vector<std::string>& waiting_nodes() const { return waiting_nodes_; }

 private:
  class Context;
  enum class St : uint8_t { kOk, kFail, kSuspend, kExit };
  struct R {
    St st = St::kOk;
    boost::json::value value;
    std::string error;
    std::string error_name;
  };

  R Run(uint32_t construct, boost::json::object& frame, bool step);
  R RunGuarded(uint32_t construct, boost::json::object& frame, bool step, uint32_t retries);
  R RunInner(uint32_t construct, boost::json::object& frame, bool step);
  R RunNode(const dsl::Construct& c, boost::json::object& frame, bool step);
  R RunThen(const dsl::Construct& c, boost::json::object& frame);
  R RunWhen(const dsl::Construct& c, boost::json::object& frame);
  R RunIf(const dsl::Construct& c, boost::json::object& frame);
  R RunSwitch(const dsl::Construct& c, boost::json::object& frame);
  R RunLoop(const dsl::Construct& c, boost::json::object& frame);
  R RunParallelLoop(const dsl::Construct& c, boost::json::object& frame, int64_t count);
  R RunCatch(const dsl::Construct& c, boost::json::object& frame);
  R RunLogic(const dsl::Construct& c);
  // Runs `n` branches side by side (WHEN, parallel loops) with WHEN's completion rules.
  R RunBranches(const dsl::Construct& c, boost::json::object& frame, size_t n,
                const std::function<R(size_t, boost::json::object&)>& branch,
                const std::function<bool(size_t, const std::string&)>& named);
  R Condition(uint32_t construct, boost::json::object& frame);  // runs a boolean child
  bool BranchMatches(uint32_t construct, const std::string& name) const;

  int64_t NewWaitId();
  bool Targets(const boost::json::object& frame) const;  // does the wakeup target a wait here?
  void Forget(boost::json::object& frame);   // removes wakeups registered here (not below)
  void Abandon(boost::json::value& frame);   // removes every wakeup registered in the subtree
  void Step(const std::string& label);
  storage::UserRecord& LoadedUser();           // the user, read through the host if not yet
  const boost::json::value& UserView();        // its JSON view (UserJson), built on first use
  const boost::json::value& EventView();       // the event, parsed from event_text_ if not yet
  static R Fail(std::string error, std::string name = "NodeError");

  const dsl::FlowGraph& graph_;
  const NodeExecutorRegistry& executors_;
  ExecutionHost& host_;
  ExecutorOptions options_;

  // Per Run.
  storage::ExecutionRecord* exec_ = nullptr;
  storage::UserRecord* user_ = nullptr;
  const Wakeup* wakeup_ = nullptr;
  boost::json::value user_json_;
  boost::json::value event_json_;
  std::string event_text_;     // the stored event while it is not parsed (event_parsed_ false)
  bool event_parsed_ = true;
  boost::json::value ctx_json_;
  bool user_changed_ = false;
  bool user_loaded_ = true;
  bool user_json_valid_ = false;  // user_json_ is UserJson(*user_) as it is now
  Status host_status_;
  int steps_ = 0;
  std::vector<std::string> waiting_nodes_;
  std::string flow_tz_;  // the running chain's flow `tz:`
};

// Builds the JSON view of a user that expressions and templates see.
boost::json::value UserJson(const storage::UserRecord& user);

}  // namespace reach::engine
