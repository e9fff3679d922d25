// A preloadable counter of heap allocations per thread, for the benches: each thread's count of
// malloc / calloc / realloc / operator new calls goes to stderr when the thread ends, as
// `allocations: <thread name> <count> (<n> of 1008 bytes or more)`. Deterministic where the
// benches' times are not, so an allocation cut on a hot path can be shown on this noisy machine
// (docs/benchmarks.md):
//
//   LD_PRELOAD=build/bench/libreach_malloc_count.so
//       build/bench/ingest_bench --full-only --seconds 3 --rounds 1 --connections 256
//   (one command line)
//
// and divide the writer's and the io thread's counts by the run's events ("sends rendered").
// Each call is passed on to the allocator the program links (jemalloc or glibc's: the next
// definition after this library, found with dlsym). operator new is counted here too, because
// jemalloc's own does not go through malloc. The aligned forms of operator new are not counted.
// Not linked into anything.
#include <dlfcn.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <new>

namespace {

// glibc's malloc takes a request of this many bytes or more from its large bins, and first
// merges every freed small chunk of the thread's arena (malloc_consolidate): such requests on a
// hot path cost far more than their number suggests, so they are counted apart.
constexpr std::size_t kLargeRequest = 1008;

struct Count {
  unsigned long long n = 0;
  unsigned long long large = 0;
  ~Count() {
    char name[17] = {};
    prctl(PR_GET_NAME, name);
    char line[160];
    const int len = std::snprintf(line, sizeof line, "allocations: %s %llu (%llu of %zu bytes or more)\n", name, n,
                                  large, kLargeRequest);
    if (len > 0 && write(2, line, static_cast<std::size_t>(len)) < 0) {
    }
  }
};

thread_local Count count;

void Counted(std::size_t size) {
  ++count.n;
  if (size >= kLargeRequest) ++count.large;
}

using MallocFn = void* (*)(std::size_t);
using CallocFn = void* (*)(std::size_t, std::size_t);
using ReallocFn = void* (*)(void*, std::size_t);
using FreeFn = void (*)(void*);

MallocFn real_malloc = nullptr;
CallocFn real_calloc = nullptr;
ReallocFn real_realloc = nullptr;
FreeFn real_free = nullptr;

// What is asked for while dlsym looks the real functions up (if it allocates at all) comes from
// here, and is never given back.
alignas(16) unsigned char bootstrap[4096];
std::size_t bootstrap_used = 0;
bool resolving = false;

bool InBootstrap(const void* p) {
  const auto* c = static_cast<const unsigned char*>(p);
  return c >= bootstrap && c < bootstrap + sizeof bootstrap;
}

void* FromBootstrap(std::size_t size) {
  const std::size_t rounded = (size + 15) & ~std::size_t{15};
  if (bootstrap_used + rounded > sizeof bootstrap) return nullptr;
  void* p = bootstrap + bootstrap_used;
  bootstrap_used += rounded;
  return p;
}

// The first allocation happens before any thread is started (the loader's), so this runs once
// on one thread.
bool Resolve() {
  if (real_malloc != nullptr) return true;
  if (resolving) return false;
  resolving = true;
  real_malloc = reinterpret_cast<MallocFn>(dlsym(RTLD_NEXT, "malloc"));
  real_calloc = reinterpret_cast<CallocFn>(dlsym(RTLD_NEXT, "calloc"));
  real_realloc = reinterpret_cast<ReallocFn>(dlsym(RTLD_NEXT, "realloc"));
  real_free = reinterpret_cast<FreeFn>(dlsym(RTLD_NEXT, "free"));
  resolving = false;
  return real_malloc != nullptr;
}

}  // namespace

extern "C" void* malloc(std::size_t size) {
  Counted(size);
  if (!Resolve()) return FromBootstrap(size);
  return real_malloc(size);
}

extern "C" void* calloc(std::size_t n, std::size_t size) {
  Counted(n * size);
  if (!Resolve()) return FromBootstrap(n * size);  // static storage: already zero
  return real_calloc(n, size);
}

extern "C" void* realloc(void* p, std::size_t size) {
  Counted(size);
  if (!Resolve()) return nullptr;
  if (InBootstrap(p)) {
    void* moved = real_malloc(size);
    if (moved != nullptr) {
      const std::size_t room = static_cast<std::size_t>(bootstrap + sizeof bootstrap - static_cast<unsigned char*>(p));
      __builtin_memcpy(moved, p, size < room ? size : room);
    }
    return moved;
  }
  return real_realloc(p, size);
}

extern "C" void free(void* p) {
  if (p == nullptr || InBootstrap(p)) return;
  if (Resolve()) real_free(p);
}

// Through malloc above (counted there); new of 0 bytes must still return a unique pointer.
void* CountedNew(std::size_t size) { return malloc(size == 0 ? 1 : size); }

void* operator new(std::size_t size) {
  void* p = CountedNew(size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void* operator new[](std::size_t size) {
  void* p = CountedNew(size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return CountedNew(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return CountedNew(size); }

// What operator new above handed out goes back through free (not through jemalloc's sized
// delete, which would be given the size asked for rather than the size allocated).
void operator delete(void* p) noexcept { free(p); }
void operator delete[](void* p) noexcept { free(p); }
void operator delete(void* p, std::size_t) noexcept { free(p); }
void operator delete[](void* p, std::size_t) noexcept { free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { free(p); }
