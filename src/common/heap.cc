#include "common/heap.h"

#include <gnu/libc-version.h>
#include <malloc.h>

#include <cstddef>

// jemalloc's control interface. Weak: null when jemalloc is not linked (REACH_ALLOCATOR=system,
// the sanitizer builds), which is how the allocator is told at run time.
extern "C" int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp, size_t newlen)
    __attribute__((weak));

// The sanitizers' allocator (ASan, TSan builds), which serves the program instead of glibc's:
// present only there.
extern "C" size_t __sanitizer_get_current_allocated_bytes() __attribute__((weak));
extern "C" size_t __sanitizer_get_heap_size() __attribute__((weak));

namespace reach {
namespace {

template <class T>
bool ReadMallctl(const char* name, T& value) {
  size_t length = sizeof value;
  return mallctl(name, &value, &length, nullptr, 0) == 0 && length == sizeof value;
}

}  // namespace

std::string HeapAllocatorName() {
  if (mallctl != nullptr) {
    const char* version = nullptr;
    return ReadMallctl("version", version) && version != nullptr ? std::string("jemalloc ") + version
                                                                 : std::string("jemalloc");
  }
  if (__sanitizer_get_current_allocated_bytes != nullptr) return "sanitizer allocator";
  return std::string("glibc ") + gnu_get_libc_version();
}

HeapStats ReadHeapStats() {
  HeapStats stats;
  if (mallctl != nullptr) {
    // The statistics are a snapshot taken at each epoch; advancing it refreshes them.
    uint64_t epoch = 1;
    size_t length = sizeof epoch;
    mallctl("epoch", &epoch, &length, &epoch, sizeof epoch);
    size_t allocated = 0;
    size_t resident = 0;
    if (ReadMallctl("stats.allocated", allocated)) stats.allocated = allocated;
    if (ReadMallctl("stats.resident", resident)) stats.held = resident;
    return stats;
  }
  if (__sanitizer_get_current_allocated_bytes != nullptr && __sanitizer_get_heap_size != nullptr) {
    stats.allocated = __sanitizer_get_current_allocated_bytes();
    stats.held = __sanitizer_get_heap_size();
    return stats;
  }
  const struct mallinfo2 info = mallinfo2();
  // uordblks: in use from the arenas' heaps; hblkhd: large blocks mmap()ed one by one (in use
  // while they exist); arena: the arenas' heaps from the system, used and free.
  stats.allocated = info.uordblks + info.hblkhd;
  stats.held = info.arena + info.hblkhd;
  return stats;
}

}  // namespace reach
