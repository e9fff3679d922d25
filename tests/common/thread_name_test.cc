#include "common/thread_name.h"

#include <sched.h>

#include <cerrno>

#include <thread>

#include <gtest/gtest.h>

namespace reach {
namespace {

TEST(ParseCpuList, ReadsNumbersRangesAndListsSortedWithoutDuplicates) {
  auto one = ParseCpuList("3");
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(*one, (std::vector<int>{3}));
  auto list = ParseCpuList("4, 0-2,1");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(*list, (std::vector<int>{0, 1, 2, 4}));
  EXPECT_EQ(FormatCpuList(*list), "0-2,4");
  EXPECT_EQ(FormatCpuList({}), "");
  EXPECT_EQ(FormatCpuList({5}), "5");
  EXPECT_EQ(FormatCpuList({0, 1, 3, 4, 6}), "0-1,3-4,6");
}

TEST(ParseCpuList, RefusesWhatIsNotACpuListAndSaysWhy) {
  for (const char* bad : {"", "a", "1,", ",1", "1-", "-1", "1--2", "1.5", "0x1"}) {
    auto r = ParseCpuList(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  auto reversed = ParseCpuList("3-1");
  ASSERT_FALSE(reversed.ok());
  EXPECT_NE(reversed.status().message().find("reversed"), std::string::npos) << reversed.status().message();
  auto big = ParseCpuList("0,1024");
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find("1024"), std::string::npos) << big.status().message();
}

TEST(SetRoleCpus, KnowsTheRolesAndRefusesOthers) {
  EXPECT_STREQ(ThreadNameOfRole("writer"), "reach-writer");
  EXPECT_STREQ(ThreadNameOfRole("checkpointer"), "reach-ckpt");
  EXPECT_EQ(ThreadNameOfRole("ckpt"), nullptr);
  EXPECT_FALSE(SetRoleCpus("writer").ok());
  EXPECT_FALSE(SetRoleCpus("painter=0").ok());
  EXPECT_FALSE(SetRoleCpus("writer=x").ok());
  ClearThreadCpus();
}

// The CPUs the calling thread may run on.
std::vector<int> ThreadCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  return cpus;
}

TEST(NameThisThread, BindsAThreadToTheCpusSetForItsNameAndLeavesOthersAlone) {
  const std::vector<int> allowed = AllowedCpus();
  ASSERT_FALSE(allowed.empty());
  const int last = allowed.back();
  ASSERT_TRUE(SetRoleCpus("writer=" + std::to_string(last)).ok());
  std::vector<int> writer_cpus, other_cpus;
  std::thread([&] {
    NameThisThread("reach-writer");
    writer_cpus = ThreadCpus();
  }).join();
  std::thread([&] {
    NameThisThread("reach-io");
    other_cpus = ThreadCpus();
  }).join();
  EXPECT_EQ(writer_cpus, (std::vector<int>{last}));
  EXPECT_EQ(other_cpus, allowed);

  // Removed again: the next writer thread is not bound.
  SetThreadCpus("reach-writer", {});
  std::thread([&] {
    NameThisThread("reach-writer");
    writer_cpus = ThreadCpus();
  }).join();
  EXPECT_EQ(writer_cpus, allowed);
  ClearThreadCpus();
}

TEST(NameThisThread, AThreadThatCannotBeBoundIsRecordedOnceAndStillNamed) {
  TakeCpuBindFailures();
  // CPU 1023 exists on no machine this runs on: sched_setaffinity refuses the set (EINVAL), as a
  // seccomp filter would (EPERM); the thread runs on, unbound.
  SetThreadCpus("reach-timer", {1023});
  std::vector<int> cpus;
  std::thread([&] {
    NameThisThread("reach-timer");
    cpus = ThreadCpus();
  }).join();
  ClearThreadCpus();
  EXPECT_EQ(cpus, AllowedCpus());
  std::vector<CpuBindFailure> failures = TakeCpuBindFailures();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].thread, "reach-timer");
  EXPECT_EQ(failures[0].error, EINVAL);
  EXPECT_TRUE(TakeCpuBindFailures().empty());  // taken
}

}  // namespace
}  // namespace reach
