#pragma once
// Names the calling thread (at most 15 characters), so that `top -H`, `perf report --sort comm`
// and core dumps tell the writer from the timer thread.

#include <pthread.h>

namespace reach {

inline void NameThisThread(const char* name) { pthread_setname_np(pthread_self(), name); }

}  // namespace reach
