#pragma once
// The process's heap allocator as linked (CMake's REACH_ALLOCATOR: jemalloc by default, glibc's
// malloc with "system"; docs/operations.md) and how much it holds: for the start-up log line
// and /metrics. Told at run time (is jemalloc's mallctl there?), not from a build flag.

#include <cstdint>
#include <string>

namespace reach {

// "jemalloc 5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c", "glibc 2.36", or "sanitizer
// allocator" in the ASan / TSan builds.
std::string HeapAllocatorName();

struct HeapStats {
  uint64_t allocated = 0;  // bytes in blocks the program holds (allocated, not yet freed)
  uint64_t held = 0;       // bytes the allocator holds from the system, in use or kept for reuse
};

// jemalloc: stats.allocated and stats.resident after an epoch refresh (a few microseconds);
// the sanitizers: their allocator's counts; glibc: mallinfo2(), which walks every arena's free
// lists under its lock — for a scrape, not a hot path.
HeapStats ReadHeapStats();

}  // namespace reach
