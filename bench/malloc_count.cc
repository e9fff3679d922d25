// A preloadable counter of heap allocations per thread, for the benches: each thread's count of
// malloc / calloc / realloc calls goes to stderr when the thread ends, as
// `allocations: <thread name> <count>`. Deterministic where the benches' times are not, so an
// allocation cut on a hot path can be shown on this noisy machine (docs/benchmarks.md):
//
//   LD_PRELOAD=build/bench/libreach_malloc_count.so
//       build/bench/ingest_bench --full-only --seconds 3 --rounds 1 --connections 256
//   (one command line)
//
// and divide the writer's and the io thread's counts by the run's events ("sends rendered").
// glibc only (it forwards to __libc_malloc and friends); not linked into anything.
#include <sys/prctl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>

extern "C" void* __libc_malloc(std::size_t);
extern "C" void* __libc_calloc(std::size_t, std::size_t);
extern "C" void* __libc_realloc(void*, std::size_t);

namespace {

struct Count {
  unsigned long long n = 0;
  ~Count() {
    char name[17] = {};
    prctl(PR_GET_NAME, name);
    char line[96];
    const int len = std::snprintf(line, sizeof line, "allocations: %s %llu\n", name, n);
    if (len > 0 && write(2, line, static_cast<std::size_t>(len)) < 0) {
    }
  }
};

thread_local Count count;

}  // namespace

extern "C" void* malloc(std::size_t size) {
  ++count.n;
  return __libc_malloc(size);
}

extern "C" void* calloc(std::size_t n, std::size_t size) {
  ++count.n;
  return __libc_calloc(n, size);
}

extern "C" void* realloc(void* p, std::size_t size) {
  ++count.n;
  return __libc_realloc(p, size);
}
