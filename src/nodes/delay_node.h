#pragma once
// `delay`: suspends the execution. Takes exactly one of
//
//   duration: 2h                      # a fixed time (90s, 15m, 2h, 3d, 1h30m)
//   until: 'user.birthday'            # a time from an expression: a timestamp, or a string in
//   offset: -2h                       #   RFC 3339; optional signed offset added to it
//   window: { from: "09:00", to: "21:00", days: [mon, tue, wed, thu, fri] }
//                                     # until the next moment inside the local-time window
//
// plus optional `tz:` (an IANA zone) for `until` (how a time without offset is read) and
// `window` (whose clock the window is on). `tz:` with `duration:` is an error: it could not
// change anything. Which zone applies at run time:
//   until   `tz:` (it describes how the data writes times), else the user's zone, else UTC;
//   window  the user's zone (the window is about the user's day), else `tz:`, else UTC.
// (A flow-level zone would sit between the two; NodeContext does not offer one yet.)
//
// A window whose `to` is earlier than its `from` spans midnight (`from: "21:00", to: "08:00"`);
// `days` then names the day the window opens. A delay whose `until` is already past, or whose
// window is open now, does not wait (Done at once, no timer). Otherwise the node registers one
// timer at the due time and suspends; that timer's wakeup completes it.

#include <bitset>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "dsl/node_kind.h"
#include "engine/node_executor.h"

namespace reach::nodes {

struct DelayConfig final : public dsl::NodeConfig {
  enum class Mode : uint8_t { kDuration, kUntil, kWindow };
  struct Window {
    int from_minute = 0;    // minutes after local midnight when the window opens, 0..1439
    int to_minute = 0;      // when it closes (exclusive); != from_minute, < it spans midnight
    std::bitset<7> days;    // the days it opens on, Sunday = 0; all set when `days:` is absent
  };

  // Which of the three fields was given.
  Mode mode = Mode::kDuration;
  // `duration:` (kDuration): how long to wait, > 0.
  int64_t duration_millis = 0;
  // `until:` (kUntil): an expression of static type timestamp, string or any.
  std::shared_ptr<const dsl::Expression> until;
  // `offset:` (kUntil, optional): added to `until`'s time; may be negative ("-2h"); 0 if absent.
  int64_t offset_millis = 0;
  // `window:` (kWindow).
  Window window;
  // `tz:` (optional, kUntil and kWindow): an IANA zone the database knows; empty = the user's,
  // then the flow's.
  std::string tz;
};

class DelayKind final : public dsl::NodeKindSpec, public engine::NodeExecutor {
 public:
  static constexpr std::string_view kType = "delay";
  std::string_view type() const override { return kType; }
  std::shared_ptr<const dsl::NodeConfig> Compile(dsl::FieldReader& fields) const override;
  dsl::NodeRole Role(const dsl::NodeConfig&) const override { return dsl::NodeRole::kCommon; }
  bool CanSuspend() const override { return true; }
  // See the file comment; frame keys t (timer id), d (due ms).
  engine::NodeOutcome Execute(const dsl::NodeDef& node, engine::NodeContext& ctx) const override;
};

// Parses "HH:MM" (also "H:MM"), 00:00..23:59, into minutes after midnight; nullopt otherwise.
std::optional<int> ParseTimeOfDay(std::string_view text);

}  // namespace reach::nodes
