#pragma once
// Durations ("90s", "15m", "2h", "3d", "500ms", "1h30m") and RFC 3339 timestamps, used by the
// expression language, node fields (`timeout:`, `duration:`) and the engine.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace reach {

// Parses a duration made of one or more <integer><unit> parts, unit in ms|s|m|h|d|w.
// Returns milliseconds, or nullopt when the text is not a duration (empty, no unit, negative,
// overflow).
std::optional<int64_t> ParseDurationMillis(std::string_view text);
// The shortest exact rendering, e.g. 90000 -> "90s", 86400000 -> "1d", 5400000 -> "1h30m".
std::string FormatDuration(int64_t millis);

// Parses RFC 3339 / ISO 8601 ("2026-11-22T10:00:00Z", "...+08:00", "...​.123Z", and a bare
// date "2026-11-22" meaning midnight UTC). Returns Unix milliseconds.
std::optional<int64_t> ParseTimestampMillis(std::string_view text);
// "2026-11-22T10:00:00Z" (milliseconds shown only when non-zero: "...:00.123Z").
std::string FormatTimestamp(int64_t unix_millis);

}  // namespace reach
