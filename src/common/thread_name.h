#pragma once
// Names the calling thread (at most 15 characters), so that `top -H`, `perf report --sort comm`
// and core dumps tell the writer from the timer thread; and places it on the CPUs set for that
// name, if any (`cpu_affinity` in reach.yaml, like Redis's server_cpulist / bio_cpulist).
//
// The CPUs are set per thread name before the threads start (`reach serve` does it once from
// its config); a thread named afterwards is bound to them with sched_setaffinity(). No entry:
// the kernel places the thread, as without this.

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace reach {

void NameThisThread(const char* name);

// The CPUs for threads named `thread_name` ("reach-io", "reach-writer", "reach-sync",
// "reach-ckpt", "reach-timer"); empty removes the entry. Thread-safe.
void SetThreadCpus(const std::string& thread_name, std::vector<int> cpus);
void ClearThreadCpus();

// The threads NameThisThread could not bind to their CPUs (sched_setaffinity failed: `error` is
// its errno, EPERM under a seccomp filter such as systemd's SystemCallFilter=~@resources), since
// the last call; the list is emptied. Thread-safe.
struct CpuBindFailure {
  std::string thread;
  int error = 0;
};
std::vector<CpuBindFailure> TakeCpuBindFailures();

// "0", "0-3", "0,2-3" (as taskset -c and /sys/devices/system/cpu/online write them): sorted,
// without duplicates. Refused: empty items, a reversed range, a CPU >= 1024.
Result<std::vector<int>> ParseCpuList(std::string_view text);
// The reverse: "0-3,6".
std::string FormatCpuList(const std::vector<int>& cpus);
// The CPUs this process may run on (sched_getaffinity).
std::vector<int> AllowedCpus();

// The threads by role, as `cpu_affinity` names them: io, writer, sync, checkpointer, timer.
// nullptr for an unknown role.
const char* ThreadNameOfRole(std::string_view role);
inline constexpr std::string_view kThreadRoles[] = {"io", "writer", "sync", "checkpointer", "timer"};
// SetThreadCpus for a role from "ROLE=CPU-LIST" (the benches' --cpus): refused with why.
Status SetRoleCpus(std::string_view role_equals_list);

}  // namespace reach
