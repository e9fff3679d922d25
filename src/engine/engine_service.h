#pragma once
// EngineService: the engine as a running service. Events and manual runs go to the store's
// writer as jobs (group commit: many per transaction, acknowledged after the commit); a timer
// thread sleeps until the earliest due timer or schedule tick (read from the timers index,
// never by scanning executions) and fires due timers in batches.

#include <array>
#include <atomic>
#include <chrono>
#include <limits>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "storage/store.h"

namespace reach::engine {

struct ServiceCounters {
  std::atomic<uint64_t> events_accepted{0};
  std::atomic<uint64_t> events_duplicate{0};
  std::atomic<uint64_t> events_failed{0};
  std::atomic<uint64_t> timers_fired{0};
  // Timer runs done ahead of the writer and written as recorded, and those found changed when
  // written (then run again on the writer); see Engine::PrepareDueTimers.
  std::atomic<uint64_t> timer_runs_ahead{0};
  std::atomic<uint64_t> timer_runs_redone{0};
  std::atomic<int64_t> timer_lag_ms{0};      // how late the last batch of timers fired
  // Rounds of the timer thread's work (due timers, schedule ticks, audience fan-outs) that ended
  // with an error (the store failing, or a run that fails on the writer every time: its batch
  // stays due and is tried again after max_sleep_ms).
  std::atomic<uint64_t> timer_rounds_failed{0};
  // Executions ended as failed because their run after a timer failed on every try (see
  // FireAllDue), or their resume on an event failed (see SubmitEvent).
  std::atomic<uint64_t> executions_unrunnable{0};
  // Users an audience fan-out passed over because their row does not read (see ListUsers).
  std::atomic<uint64_t> fanout_users_skipped{0};
  std::atomic<uint64_t> executions_started{0};
  std::atomic<uint64_t> executions_resumed{0};
};

class EngineService {
 public:
  using EventDone = std::function<void(const Status&, const EventOutcome&)>;

  // `store`, `engine` and `clock` must outlive the service. The clock is read for "now"; the
  // timer thread waits on the steady clock for at most `max_sleep_ms` between checks.
  EngineService(storage::Store& store, Engine& engine, const Clock& clock, int64_t max_sleep_ms = 1000);
  ~EngineService();

  // Loads the current flow set from the store (synchronously) and starts the timer thread.
  Status Start();
  // Stops the timer thread (after its current batch). Jobs already submitted still complete.
  void Stop();

  // Queues an event; `done` runs (see set_event_delivery for where) once the event and
  // everything it caused are durable (or with the error that kept them from being written: then nothing was).
  // `identities` (kind -> value) resolve the user when event.user_id is empty (see
  // Engine::ResolveUser); they are added to the user's profile either way. A waiting execution
  // the event would resume that cannot be read or run (EventOutcome::failed_execution) is ended
  // as failed and the event handled again without it (reported to on_unrunnable).
  void SubmitEvent(storage::EventRecord event, boost::json::object identities, EventDone done);
  // Where events' `done`s run. By default on the store's thread that reports the commit. With
  // a delivery set, each `done` is queued instead and `deliver` is handed a function to call
  // soon on a thread of its own (the HTTP io thread: a request's memory is then freed by the
  // thread that allocated it rather than by the store's, and one hand-off answers a whole
  // batch, set_delivery_chunk's count at a time); `deliver` must not call it before
  // returning. Either way the `done`s run one at a time, in commit order. Setting an empty
  // delivery runs what is queued at once, on the caller; setting another hands it what is
  // queued (the old target may have dropped it); a target that throws has them run at once,
  // where it was called. Thread-safe; the target must run or drop every function it was handed
  // before the service is destroyed.
  using Deliver = std::function<void(std::function<void()>)>;
  void set_event_delivery(Deliver deliver);
  // How many `done`s one hand-off to the delivery runs before handing the rest over again, to
  // the back of the target's queue (0: all at once). On the HTTP io thread this lets the reads
  // of new requests in between the answers of a large commit, so that the writer gets its next
  // batch while the answers go out instead of after. Set before set_event_delivery.
  static constexpr size_t kDeliveryChunk = 32;
  void set_delivery_chunk(size_t n) { delivery_chunk_ = n; }
  // Runs `job` on the writer (group-committed); `done` after the commit. For API writes that
  // are not events (users, deploys, cancels, runs).
  void Submit(storage::Store::Job job, storage::Store::Done done) { store_.Submit(std::move(job), std::move(done)); }
  // Tells the timer thread that timers may have changed (a new earlier one).
  void Wake();
  // Fires every timer due at the clock's now, as the timer thread does: batches of
  // EngineOptions::timer_batch timers, each read and run on the calling thread
  // (Engine::PrepareDueTimers) while the writer writes the previous ones
  // (Engine::ApplyPreparedTimers); up to timer_jobs batches wait for the writer at a time,
  // until a read finds fewer than timer_batch due.
  // A batch whose job fails for one of its runs (not for the store: an I/O error fails the
  // round) is applied again one wakeup per job; the execution whose job still fails is ended
  // as failed (Engine::FailUnrunnable) and reported to on_unrunnable, and the others fire.
  // Returns once every job it queued is durable, with the first error; `fired` counts the
  // timers of the jobs that committed (counters().timers_fired grows as each commits). One
  // caller at a time, never from a job or a `done`.
  Status FireAllDue(int& fired);

  const ServiceCounters& counters() const { return counters_; }
  // Called for each execution ended as unrunnable, with why: on the timer thread (its run after
  // a timer fails on every try), or where an event's `done` runs (its resume on an event failed;
  // the event is then handled again without it). Optional; set before Start().
  void set_on_unrunnable(std::function<void(int64_t execution_id, const std::string& reason)> f) {
    on_unrunnable_ = std::move(f);
  }
  // Called (on the timer thread) for each user an audience fan-out passed over because the
  // user's row does not read, with why. Optional; set before Start().
  void set_on_fanout_skipped(std::function<void(const std::string& user_id, const std::string& reason)> f) {
    on_fanout_skipped_ = std::move(f);
  }
  // Called (on the timer thread) when a round of the timer thread's work fails (`what`:
  // "timers", "schedules" or "fanouts"; it is tried again later), for each kind of work at most
  // once a minute for the same error and at once for a new one; and with an ok status once
  // when that work succeeds again after a reported failure. Optional; set before Start().
  void set_on_round_failed(std::function<void(const char* what, const Status& error)> f) {
    on_round_failed_ = std::move(f);
  }

 private:
  struct PendingEvent;
  void SubmitEventJob(std::shared_ptr<PendingEvent> pending);
  // Runs the event's `done`, here or through the delivery (see set_event_delivery).
  void Answer(std::shared_ptr<PendingEvent> pending, const Status& status);
  // Runs the queued `done`s, in order; one caller at a time. With a `limit`, at most that many,
  // then hands the rest over again (to the back of the target's queue).
  void RunDeliveries(size_t limit = 0);
  // Hands `target` one RunDeliveries (run here when the target throws).
  void HandOver(const Deliver& target);
  void FailThenRetryEvent(std::shared_ptr<PendingEvent> pending, int64_t execution_id, std::string reason);
  void TimerLoop();
  bool stopping();
  static bool IsRunFailure(const Status& s);
  void ReportUnrunnable(int64_t execution_id, const std::string& reason);
  Status ApplyCatching(storage::StoreTxn& txn, PreparedTimers& batch, int& fired);
  void CountApplied(const PreparedTimers& batch, int fired);
  // FireAllDue's second try of a failed batch, one wakeup per job; adds what fired to `fired`.
  Status IsolateFailedBatch(PreparedTimers& batch, int& fired);

  storage::Store& store_;
  Engine& engine_;
  const Clock& clock_;
  int64_t max_sleep_ms_;
  // When the timer thread will look again by itself (clock ms); earlier timers wake it.
  std::atomic<int64_t> planned_wake_ms_{std::numeric_limits<int64_t>::max()};
  ServiceCounters counters_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread timer_thread_;
  std::unique_ptr<storage::StoreReader> ahead_reader_;  // FireAllDue's (one caller at a time)
  // Events answered but not yet delivered (set_event_delivery).
  struct Delivery {
    std::shared_ptr<PendingEvent> pending;
    Status status;
  };
  std::mutex delivery_mu_;  // guards deliver_, delivery_queue_, delivery_posted_
  std::shared_ptr<const Deliver> deliver_;
  std::vector<Delivery> delivery_queue_;
  bool delivery_posted_ = false;  // a RunDeliveries is handed to deliver_ and has not begun
  std::mutex delivery_run_mu_;    // held by RunDeliveries: `done`s one at a time, in order
  std::vector<Delivery> delivering_;  // RunDeliveries' batch (guarded by delivery_run_mu_)
  size_t delivered_ = 0;              // how many of delivering_ have run (guarded by delivery_run_mu_)
  size_t delivery_chunk_ = kDeliveryChunk;
  std::atomic<std::thread::id> delivering_thread_{};  // the thread inside RunDeliveries, if any
  std::function<void(int64_t, const std::string&)> on_unrunnable_;
  std::function<void(const std::string&, const std::string&)> on_fanout_skipped_;
  std::function<void(const char*, const Status&)> on_round_failed_;
  // Timer thread only: per kind of work (timers, schedules, fanouts), the last failure reported
  // to on_round_failed_ and when, and whether its recovery is still to be reported.
  struct RoundReport {
    std::string error;
    std::chrono::steady_clock::time_point at{};
    bool recovery_due = false;
  };
  std::array<RoundReport, 3> round_reports_;
  void ReportRound(const char* what, const Status& s);
};

}  // namespace reach::engine
