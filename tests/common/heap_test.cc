#include "common/heap.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace reach {
namespace {

// The build links the allocator CMake's REACH_ALLOCATOR names (the sanitizer builds: theirs);
// the test is told which through REACH_EXPECTED_ALLOCATOR and checks that it is what runs.
TEST(Heap, TheAllocatorThatRunsIsTheOneTheBuildLinked) {
  const std::string name = HeapAllocatorName();
  EXPECT_EQ(name.rfind(std::string(REACH_EXPECTED_ALLOCATOR) + " ", 0), 0u) << name;
  EXPECT_GT(name.size(), std::string(REACH_EXPECTED_ALLOCATOR).size() + 1) << "no version: " << name;
}

TEST(Heap, StatsCountABlockWhileItIsHeldAndNotAfter) {
  const HeapStats before = ReadHeapStats();
  constexpr size_t kBlock = 64 << 20;
  char* block = static_cast<char*>(std::malloc(kBlock));
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, kBlock);  // resident, for jemalloc's count of resident bytes
  const HeapStats during = ReadHeapStats();
  std::free(block);
  const HeapStats after = ReadHeapStats();

  EXPECT_GE(during.allocated, before.allocated + kBlock);
  EXPECT_GE(during.held, during.allocated);
  EXPECT_GE(during.held, before.held + kBlock / 2);
  EXPECT_LE(after.allocated + kBlock, during.allocated);
}

}  // namespace
}  // namespace reach
