#pragma once
// Clock: where the engine's time comes from. Persisted deadlines are UTC wall-clock
// milliseconds; tests use a ManualClock and never sleep.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace reach::engine {

class Clock {
 public:
  virtual ~Clock() = default;
  // UTC, milliseconds since the Unix epoch.
  virtual int64_t NowMillis() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMillis() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that moves only when told. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 0) : now_(start_ms) {}
  int64_t NowMillis() const override { return now_.load(); }
  void Set(int64_t ms) { now_.store(ms); }
  void Advance(int64_t ms) { now_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace reach::engine
