#include "storage/records.h"

namespace reach::storage {

std::string_view ExecutionStatusName(ExecutionStatus s) {
  switch (s) {
    case ExecutionStatus::kRunning: return "running";
    case ExecutionStatus::kWaiting: return "waiting";
    case ExecutionStatus::kCompleted: return "completed";
    case ExecutionStatus::kFailed: return "failed";
    case ExecutionStatus::kCancelled: return "cancelled";
  }
  return "unknown";
}

std::optional<ExecutionStatus> ParseExecutionStatus(std::string_view s) {
  if (s == "running") return ExecutionStatus::kRunning;
  if (s == "waiting") return ExecutionStatus::kWaiting;
  if (s == "completed") return ExecutionStatus::kCompleted;
  if (s == "failed") return ExecutionStatus::kFailed;
  if (s == "cancelled") return ExecutionStatus::kCancelled;
  return std::nullopt;
}

}  // namespace reach::storage
