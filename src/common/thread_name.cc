#include "common/thread_name.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <iterator>
#include <map>
#include <mutex>
#include <utility>

namespace reach {
namespace {

constexpr int kMaxCpu = 1024;  // CPU_SETSIZE

std::mutex& CpusMutex() {
  static std::mutex mu;
  return mu;
}
std::map<std::string, std::vector<int>, std::less<>>& CpusByName() {
  static std::map<std::string, std::vector<int>, std::less<>> cpus;
  return cpus;
}

std::vector<CpuBindFailure>& BindFailures() {
  static std::vector<CpuBindFailure> failures;
  return failures;
}

}  // namespace

std::vector<CpuBindFailure> TakeCpuBindFailures() {
  std::lock_guard<std::mutex> lock(CpusMutex());
  return std::exchange(BindFailures(), {});
}

void NameThisThread(const char* name) {
  std::vector<int> cpus;
  {
    std::lock_guard<std::mutex> lock(CpusMutex());
    auto it = CpusByName().find(std::string_view(name));
    if (it != CpusByName().end()) cpus = it->second;
  }
  if (!cpus.empty()) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int cpu : cpus) CPU_SET(cpu, &set);
    // `reach serve` checks the CPUs against AllowedCpus() before any thread starts; what can
    // still fail (a seccomp filter that forbids the call: EPERM) is kept for it to report.
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
      const int error = errno;
      std::lock_guard<std::mutex> lock(CpusMutex());
      BindFailures().push_back({name, error});
    }
  }
  // Named last: a thread seen under its name (ps, /proc) is already bound.
  pthread_setname_np(pthread_self(), name);
}

void SetThreadCpus(const std::string& thread_name, std::vector<int> cpus) {
  std::lock_guard<std::mutex> lock(CpusMutex());
  if (cpus.empty()) {
    CpusByName().erase(thread_name);
  } else {
    CpusByName()[thread_name] = std::move(cpus);
  }
}

void ClearThreadCpus() {
  std::lock_guard<std::mutex> lock(CpusMutex());
  CpusByName().clear();
}

Result<std::vector<int>> ParseCpuList(std::string_view text) {
  std::vector<int> cpus;
  auto number = [&](std::string_view s, int& out) {
    const char* end = s.data() + s.size();
    auto [ptr, ec] = std::from_chars(s.data(), end, out);
    return ec == std::errc() && ptr == end && !s.empty() && out >= 0;
  };
  const std::string quoted = "'" + std::string(text) + "'";
  if (text.empty()) return Status::Invalid("an empty CPU list");
  for (size_t at = 0; at <= text.size();) {
    const size_t comma = std::min(text.find(',', at), text.size());
    std::string_view item = text.substr(at, comma - at);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    const size_t dash = item.find('-');
    int first = 0, last = 0;
    if (dash == std::string_view::npos ? !number(item, first) || !number(item, last)
                                       : !number(item.substr(0, dash), first) || !number(item.substr(dash + 1), last)) {
      return Status::Invalid("CPU list " + quoted + ": '" + std::string(item) +
                             "' is not a CPU number or a range like 0-3");
    }
    if (last < first) return Status::Invalid("CPU list " + quoted + ": the range '" + std::string(item) + "' is reversed");
    if (last >= kMaxCpu) return Status::Invalid("CPU list " + quoted + ": CPU " + std::to_string(last) + " is above 1023");
    for (int cpu = first; cpu <= last; ++cpu) cpus.push_back(cpu);
    at = comma + 1;
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

std::string FormatCpuList(const std::vector<int>& cpus) {
  std::string out;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cpus[i]);
    if (j > i) out += '-' + std::to_string(cpus[j]);
    i = j + 1;
  }
  return out;
}

std::vector<int> AllowedCpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int cpu = 0; cpu < kMaxCpu; ++cpu)
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  return cpus;
}

const char* ThreadNameOfRole(std::string_view role) {
  // The thread names, in kThreadRoles' order.
  static constexpr const char* kNames[] = {"reach-io", "reach-writer", "reach-sync", "reach-ckpt", "reach-timer"};
  static_assert(std::size(kNames) == std::size(kThreadRoles));
  for (size_t i = 0; i < std::size(kThreadRoles); ++i)
    if (kThreadRoles[i] == role) return kNames[i];
  return nullptr;
}

Status SetRoleCpus(std::string_view role_equals_list) {
  const size_t eq = role_equals_list.find('=');
  const char* name = eq == std::string_view::npos ? nullptr : ThreadNameOfRole(role_equals_list.substr(0, eq));
  if (name == nullptr) {
    std::string roles;
    for (std::string_view role : kThreadRoles) (roles += roles.empty() ? "" : ", ") += role;
    return Status::Invalid("'" + std::string(role_equals_list) + "': expected ROLE=CPUS with ROLE one of " + roles);
  }
  Result<std::vector<int>> cpus = ParseCpuList(role_equals_list.substr(eq + 1));
  if (!cpus.ok()) return cpus.status();
  SetThreadCpus(name, std::move(*cpus));
  return Status::Ok();
}

}  // namespace reach
