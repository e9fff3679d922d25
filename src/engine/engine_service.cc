#include "engine/engine_service.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <memory>
#include <optional>

#include "common/thread_name.h"

namespace reach::engine {

EngineService::EngineService(storage::Store& store, Engine& engine, const Clock& clock, int64_t max_sleep_ms)
    : store_(store), engine_(engine), clock_(clock), max_sleep_ms_(max_sleep_ms) {}

EngineService::~EngineService() {
  Stop();
  set_event_delivery(nullptr);
}

Status EngineService::Start() {
  Status s = store_.Write([&](storage::StoreTxn& txn) { return engine_.LoadCurrent(txn); });
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  stop_ = false;
  timer_thread_ = std::thread([this] { TimerLoop(); });
  return Status::Ok();
}

void EngineService::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (timer_thread_.joinable()) timer_thread_.join();
}

void EngineService::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

// An event's job, with what it needs to run again. The job fails when a waiting execution it
// resumes cannot be read or run (EventOutcome::failed_execution): that execution is then ended
// as failed in a job of its own (durable progress: the event's failed job wrote nothing, the
// store rolled it back), and the event is handled again, so that one broken execution does not
// refuse every event of its user and type. Each retry ends one execution for good; the bound is
// a guard against a loop, not a limit a real user reaches (their waits for one type are few).
struct EngineService::PendingEvent {
  static constexpr int kMaxRetries = 1000;
  storage::EventRecord event;
  boost::json::object identities;
  EventDone done;
  EventOutcome outcome;
  int retries = 0;
};

void EngineService::SubmitEvent(storage::EventRecord event, boost::json::object identities, EventDone done) {
  auto pending = std::make_shared<PendingEvent>();
  pending->event = std::move(event);
  pending->identities = std::move(identities);
  pending->done = std::move(done);
  SubmitEventJob(std::move(pending));
}

void EngineService::SubmitEventJob(std::shared_ptr<PendingEvent> pending) {
  // The job borrows what the `done` owns: a job never runs after its `done`, and the `done`
  // hands its reference on (Answer), so that the event is freed where it is answered.
  PendingEvent* const p = pending.get();
  store_.Submit(
      [this, p](storage::StoreTxn& txn) {
        PendingEvent* const pending = p;
        pending->outcome = EventOutcome{};
        storage::UserRecord user;  // stays without an id unless ResolveUser read or wrote it
        bool created = false;
        if (Status s = engine_.ResolveUser(txn, pending->identities, pending->event.user_id, &user, &created);
            !s.ok())
          return s;
        return engine_.HandleEvent(txn, pending->event, pending->outcome, &user, created);
      },
      [this, pending = std::move(pending)](const Status& s) mutable {
        const int64_t broken = pending->outcome.failed_execution;
        if (!s.ok() && broken && IsRunFailure(s) && pending->retries < PendingEvent::kMaxRetries &&
            store_.health().ok()) {
          ++pending->retries;
          std::string reason = "cannot resume on event '" + pending->event.type + "': " + s.message();
          FailThenRetryEvent(std::move(pending), broken, std::move(reason));
          return;
        }
        const EventOutcome& outcome = pending->outcome;
        if (!s.ok()) {
          counters_.events_failed++;
        } else if (outcome.duplicate) {
          counters_.events_duplicate++;
        } else {
          counters_.events_accepted++;
          counters_.executions_started += outcome.started.size();
          counters_.executions_resumed += outcome.resumed.size();
          // The timer thread needs waking only for a timer due before it wakes anyway.
          const int64_t due = outcome.earliest_due_ms;
          if (due > 0 && due < planned_wake_ms_.load(std::memory_order_relaxed)) Wake();
        }
        Answer(std::move(pending), s);
      });
}

void EngineService::set_event_delivery(Deliver deliver) {
  std::shared_ptr<const Deliver> target;
  const bool detached = !deliver;
  {
    std::lock_guard<std::mutex> lock(delivery_mu_);
    deliver_ = deliver ? std::make_shared<const Deliver>(std::move(deliver)) : nullptr;
    // What was handed to the old target may never run there: the new one gets a hand-off, also
    // when nothing is queued (the rest of a chunked run waits outside the queue; a hand-off
    // with nothing to do returns at once).
    delivery_posted_ = false;
    if (deliver_) {
      delivery_posted_ = true;
      target = deliver_;
    }
  }
  if (target) {
    HandOver(*target);
  } else if (detached) {
    RunDeliveries();
  }
}

void EngineService::HandOver(const Deliver& target) {
  try {
    target([this] { RunDeliveries(delivery_chunk_); });
  } catch (...) {
    // The target could not take it (out of memory): answered here, now.
    {
      std::lock_guard<std::mutex> lock(delivery_mu_);
      delivery_posted_ = false;
    }
    RunDeliveries();
  }
}

void EngineService::Answer(std::shared_ptr<PendingEvent> pending, const Status& status) {
  std::shared_ptr<const Deliver> deliver;
  {
    std::lock_guard<std::mutex> lock(delivery_mu_);
    delivery_queue_.push_back({std::move(pending), status});
    if (deliver_) {
      if (delivery_posted_) return;  // the RunDeliveries handed over earlier takes this one too
      delivery_posted_ = true;
      deliver = deliver_;
    }
  }
  if (deliver) {
    HandOver(*deliver);
  } else {
    RunDeliveries();
  }
}

void EngineService::RunDeliveries(size_t limit) {
  // From a `done` this thread is running (one that submitted an event the store refused at
  // once): the loop below takes what was queued.
  if (delivering_thread_.load(std::memory_order_relaxed) == std::this_thread::get_id()) return;
  bool more = false;
  {
    std::lock_guard<std::mutex> run(delivery_run_mu_);
    delivering_thread_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    {
      // Begun: what is queued from here on, or left over below, needs a hand-off of its own
      // (one handed over meanwhile runs later and takes whatever is left then).
      std::lock_guard<std::mutex> lock(delivery_mu_);
      delivery_posted_ = false;
    }
    size_t ran = 0;
    for (;;) {
      if (delivered_ == delivering_.size()) {
        delivering_.clear();  // the buffer goes back as the next queue
        delivered_ = 0;
        std::lock_guard<std::mutex> lock(delivery_mu_);
        delivering_.swap(delivery_queue_);
        if (delivering_.empty()) break;
      }
      if (limit > 0 && ran == limit) {
        more = true;
        break;
      }
      Delivery& d = delivering_[delivered_++];
      try {
        d.pending->done(d.status, d.pending->outcome);
      } catch (...) {
        // As the store does for a `done`: a throwing callback must not stop the others.
      }
      d.pending.reset();  // the event is freed here, by the thread that runs its `done`
      ++ran;
    }
    delivering_thread_.store(std::thread::id(), std::memory_order_relaxed);
  }
  if (!more) return;
  // The rest goes to the back of the target's queue, behind what is waiting there (on the HTTP
  // io thread: the reads of new requests), unless a RunDeliveries is handed over already.
  std::shared_ptr<const Deliver> target;
  {
    std::lock_guard<std::mutex> lock(delivery_mu_);
    if (!deliver_ || delivery_posted_) return;  // detached: set_event_delivery runs the rest
    delivery_posted_ = true;
    target = deliver_;
  }
  HandOver(*target);
}

void EngineService::FailThenRetryEvent(std::shared_ptr<PendingEvent> pending, int64_t execution_id, std::string reason) {
  auto ended = std::make_shared<bool>(false);
  store_.Submit(
      [this, execution_id, reason, ended](storage::StoreTxn& txn) {
        return engine_.FailExecution(txn, execution_id, reason, *ended);
      },
      [this, pending, execution_id, reason, ended](const Status& s) mutable {
        if (!s.ok() || !*ended) {
          // Not even that could be written, or there was nothing to end (handling the event
          // again would fail the same way): the event fails with why.
          counters_.events_failed++;
          Answer(std::move(pending), s.ok() ? Status::Internal(reason + " (and the execution could not be ended)") : s);
          return;
        }
        ReportUnrunnable(execution_id, reason);
        SubmitEventJob(std::move(pending));
      });
}

// Counts an execution ended as unrunnable and tells on_unrunnable_ (whose exception must not
// keep an event from being answered nor stop the timer thread).
void EngineService::ReportUnrunnable(int64_t execution_id, const std::string& reason) {
  counters_.executions_unrunnable++;
  if (!on_unrunnable_) return;
  try {
    on_unrunnable_(execution_id, reason);
  } catch (...) {
  }
}

// ApplyPreparedTimers with an exception (a bug in a node, a state the executor does not expect)
// turned into the error the store would make of it, so that the caller sees the failure.
Status EngineService::ApplyCatching(storage::StoreTxn& txn, PreparedTimers& batch, int& fired) {
  try {
    return engine_.ApplyPreparedTimers(txn, batch, fired);
  } catch (...) {
    return StatusOfCurrentException("timer job");
  }
}

// Counts a batch's apply that committed.
void EngineService::CountApplied(const PreparedTimers& batch, int fired) {
  counters_.timers_fired += static_cast<uint64_t>(fired);
  counters_.timer_runs_ahead += batch.written();
  counters_.timer_runs_redone += batch.stale();
}

// A job's error that comes from the run, not from the store: the same run fails again. A
// damaged database file (kDataLoss) is the store's: the executions it holds are not ended for it.
bool EngineService::IsRunFailure(const Status& s) {
  return s.code() != StatusCode::kIoError && s.code() != StatusCode::kUnavailable &&
         s.code() != StatusCode::kDataLoss;
}

bool EngineService::stopping() {
  std::lock_guard<std::mutex> lock(mu_);
  return stop_;
}

Status EngineService::FireAllDue(int& fired) {
  fired = 0;
  const EngineOptions& options = engine_.options();
  const int max_queued = std::max(1, options.timer_jobs);
  if (!ahead_reader_) ahead_reader_ = store_.NewReader();
  // This thread reads a batch and runs it (PrepareDueTimers) while the writer writes the
  // batches before (ApplyPreparedTimers) and the sync thread makes them durable. Each read
  // starts after the last wakeup the previous one read: the snapshot may not show that batch's
  // writes yet. Wakeups that come due meanwhile before that point are the next round's.
  struct Job {
    PreparedTimers batch;
    int seq = 0;
    int fired = 0;
    bool ran = false;
  };
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    int queued = 0;   // queued, not yet applied
    int pending = 0;  // queued, not yet durable
    int fired = 0;
    Status error;
    // The first job whose apply failed. The jobs queued after it were read past its wakeups;
    // applying them could fire an execution's later timer before its earlier one (a WHEN
    // `.any` branch won by the wrong timer). They write nothing, and the next round reads from
    // the earliest due again.
    int failed_seq = std::numeric_limits<int>::max();
    std::shared_ptr<Job> failed_job;  // that job, once its failure is final
  };
  auto shared = std::make_shared<Shared>();
  auto ran = [shared](Job& job) {  // under shared->mu
    if (job.ran) return;
    job.ran = true;
    --shared->queued;
    shared->cv.notify_all();
  };
  std::optional<storage::WakeupCursor> cursor;
  Status prepare_error;
  for (int seq = 0; !stopping(); ++seq) {
    auto job = std::make_shared<Job>();
    job->seq = seq;
    prepare_error = engine_.PrepareDueTimers(*ahead_reader_, cursor ? &*cursor : nullptr, job->batch);
    if (!prepare_error.ok() || job->batch.empty()) break;
    cursor = job->batch.last();
    const bool last = static_cast<int>(job->batch.size()) < options.timer_batch;
    {
      std::unique_lock<std::mutex> lock(shared->mu);
      shared->cv.wait(lock, [&] { return shared->queued < max_queued || !shared->error.ok(); });
      if (!shared->error.ok()) break;
      ++shared->queued;
      ++shared->pending;
    }
    store_.Submit(
        [this, shared, job, ran](storage::StoreTxn& txn) {
          {
            std::lock_guard<std::mutex> lock(shared->mu);
            if (job->seq > shared->failed_seq) {
              job->fired = 0;
              ran(*job);
              return Status::Ok();
            }
          }
          Status s = ApplyCatching(txn, job->batch, job->fired);
          std::lock_guard<std::mutex> lock(shared->mu);
          ran(*job);
          if (!s.ok()) {
            shared->failed_seq = std::min(shared->failed_seq, job->seq);
            if (shared->error.ok()) shared->error = s;
          }
          return s;
        },
        [this, shared, job, ran](const Status& s) {
          std::lock_guard<std::mutex> lock(shared->mu);
          ran(*job);  // a refused job never ran
          --shared->pending;
          if (s.ok()) {
            shared->fired += job->fired;
            CountApplied(job->batch, job->fired);
          } else {
            if (shared->error.ok()) shared->error = s;
            if (!shared->failed_job) shared->failed_job = job;
            // Also a failure the job's body never saw (its batch's BEGIN timed out on another
            // process's lock): the jobs queued after it that have not run yet write nothing.
            shared->failed_seq = std::min(shared->failed_seq, job->seq);
          }
          shared->cv.notify_all();
        });
    if (last) break;
  }
  std::unique_lock<std::mutex> lock(shared->mu);
  shared->cv.wait(lock, [&] { return shared->pending == 0; });
  fired = shared->fired;
  if (shared->error.ok()) return prepare_error;
  if (shared->failed_job && IsRunFailure(shared->error) && store_.health().ok()) {
    lock.unlock();
    return IsolateFailedBatch(shared->failed_job->batch, fired);
  }
  return shared->error;
}

Status EngineService::IsolateFailedBatch(PreparedTimers& batch, int& fired) {
  // One job per wakeup, queued together (the store still commits them in one transaction, and
  // rolls back only the one that fails), in order. Once a run of an execution has failed, its
  // later wakeups in the batch are left alone (their job writes nothing): firing them would run
  // the execution past the timer that could not be resumed (a WHEN `.any` won by the later one).
  const std::vector<storage::WakeupRecord> wakeups = batch.wakeups();
  std::vector<PreparedTimers> singles = batch.Split();
  struct One {
    PreparedTimers batch;
    int64_t execution = 0;
    size_t position = 0;
    int fired = 0;
    bool skipped = false;
    Status status;
  };
  struct Pass {
    std::mutex mu;
    std::condition_variable cv;
    size_t remaining = 0;
    // (execution, position in the batch) of each run that failed (set on the writer, where the
    // jobs run in order; a job may run twice, and must not then skip itself).
    std::vector<std::pair<int64_t, size_t>> failed;
  };
  auto pass = std::make_shared<Pass>();
  pass->remaining = singles.size();
  std::vector<std::shared_ptr<One>> ones;
  for (size_t i = 0; i < singles.size(); ++i) {
    auto one = std::make_shared<One>();
    one->batch = std::move(singles[i]);
    one->execution = wakeups[i].execution_id;
    one->position = i;
    ones.push_back(one);
    store_.Submit(
        [this, one, pass](storage::StoreTxn& txn) {
          {
            std::lock_guard<std::mutex> lock(pass->mu);
            one->fired = 0;
            one->skipped = std::any_of(pass->failed.begin(), pass->failed.end(), [&](const auto& f) {
              return f.first == one->execution && f.second < one->position;
            });
            if (one->skipped) return Status::Ok();
          }
          Status s = ApplyCatching(txn, one->batch, one->fired);
          if (!s.ok()) {
            std::lock_guard<std::mutex> lock(pass->mu);
            pass->failed.emplace_back(one->execution, one->position);
          }
          return s;
        },
        [one, pass](const Status& s) {
          std::lock_guard<std::mutex> lock(pass->mu);
          one->status = s;
          --pass->remaining;
          pass->cv.notify_all();
        });
  }
  {
    std::unique_lock<std::mutex> lock(pass->mu);
    pass->cv.wait(lock, [&] { return pass->remaining == 0; });
  }
  for (size_t i = 0; i < ones.size(); ++i) {
    const One& one = *ones[i];
    if (one.status.ok()) {
      if (one.skipped) continue;  // its wakeup goes with its execution below, or fires next round
      fired += one.fired;
      CountApplied(one.batch, one.fired);
      continue;
    }
    if (!IsRunFailure(one.status) || !store_.health().ok()) return one.status;
    // Fails alone, every time: end it, so that it stops holding the timers behind it (unless
    // something took that wakeup since: then the execution has moved on).
    const std::string reason = "cannot resume after a timer: " + one.status.message();
    bool ended = false;
    Status s = store_.Write([&](storage::StoreTxn& txn) { return engine_.FailUnrunnable(txn, wakeups[i], reason, ended); });
    if (!s.ok()) return s;
    if (ended) ReportUnrunnable(wakeups[i].execution_id, reason);
  }
  return Status::Ok();
}

void EngineService::ReportRound(const char* what, const Status& s) {
  if (!s.ok()) counters_.timer_rounds_failed++;
  if (!on_round_failed_) return;
  const std::string_view kind(what);
  RoundReport& r = round_reports_[kind == "timers" ? 0 : kind == "schedules" ? 1 : 2];
  if (s.ok()) {
    if (!r.recovery_due) return;
    r.recovery_due = false;
    on_round_failed_(what, s);
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  std::string error = s.ToString();
  // A work that flaps (fails, succeeds, fails with the same error) is reported once a minute,
  // with its recovery once after that report.
  if (error == r.error && now - r.at < std::chrono::minutes(1)) return;
  r.error = std::move(error);
  r.at = now;
  r.recovery_due = true;
  on_round_failed_(what, s);
}

void EngineService::TimerLoop() {
  NameThisThread("reach-timer");
  auto reader = store_.NewReader();
  // A fan-out that failed is tried again after the longest sleep, not on every pass (timers
  // coming due make passes often), and without holding the timers up meanwhile.
  auto fanout_retry_at = std::chrono::steady_clock::now();
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      woken_ = false;
      // Until it decides how long to sleep, any new timer wakes it (it may read the store
      // before that timer's commit).
      planned_wake_ms_.store(std::numeric_limits<int64_t>::max(), std::memory_order_relaxed);
    }
    int64_t now = clock_.NowMillis();
    // The earliest due timer, from the index; and the earliest schedule tick.
    std::optional<int64_t> next;
    if (auto g = reader->GetGauges(); g.ok()) next = g->next_timer_due_ms;
    const bool fanout_due = engine_.fanouts_pending() && std::chrono::steady_clock::now() >= fanout_retry_at;
    if (fanout_due) {
      // Audience fan-outs go a page per job, so that events keep flowing in between.
      int started = 0;
      bool more = false;
      std::vector<std::pair<std::string, std::string>> skipped;
      Status s =
          store_.Write([&](storage::StoreTxn& txn) { return engine_.ContinueFanouts(txn, started, more, skipped); });
      if (s.ok()) {
        counters_.executions_started += static_cast<uint64_t>(started);
        counters_.fanout_users_skipped += skipped.size();
        if (on_fanout_skipped_)
          for (const auto& [user_id, reason] : skipped) {
            try {
              on_fanout_skipped_(user_id, reason);
            } catch (...) {  // a failing report must not stop the timer thread
            }
          }
      }
      ReportRound("fanouts", s);
      if (!s.ok()) fanout_retry_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(max_sleep_ms_);
      if (s.ok() && more) continue;
    }
    bool failing = false;
    if (int64_t tick = engine_.NextScheduleDue(); tick >= 0 && tick <= now) {
      int started = 0;
      Status s = store_.Write([&](storage::StoreTxn& txn) { return engine_.RunDueSchedules(txn, started); });
      if (s.ok()) counters_.executions_started += static_cast<uint64_t>(started);
      ReportRound("schedules", s);
      failing = !s.ok();
    }
    if (next && *next <= now && !failing) {
      counters_.timer_lag_ms = now - *next;
      int fired = 0;
      const Status s = FireAllDue(fired);
      ReportRound("timers", s);
      if (s.ok()) continue;  // more may have come due meanwhile
      failing = true;
    }
    int64_t sleep_ms = max_sleep_ms_;
    int64_t tick = engine_.NextScheduleDue();
    if (tick >= 0 && (!next || tick < *next)) next = tick;
    // A failing store or a run that fails every time (its batch stays due): look again after
    // the longest sleep, not at once (the due time is past: that would be a busy loop).
    if (next && !failing) sleep_ms = std::clamp<int64_t>(*next - now, 1, max_sleep_ms_);
    if (engine_.fanouts_pending()) {  // one waiting for its retry: no later than that
      const auto until = std::chrono::duration_cast<std::chrono::milliseconds>(fanout_retry_at -
                                                                               std::chrono::steady_clock::now());
      sleep_ms = std::clamp<int64_t>(until.count(), 1, sleep_ms);
    }
    planned_wake_ms_.store(now + sleep_ms, std::memory_order_relaxed);
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(sleep_ms), [this] { return stop_ || woken_; });
  }
}

}  // namespace reach::engine
