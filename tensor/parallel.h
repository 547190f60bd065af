// A small persistent thread pool. parallel_for splits [0, n) into at most 64 contiguous chunks of at least
// `grain` items; the caller and every idle pool thread claim chunks until none is left. Calls nest: a
// parallel_for inside a chunk shares its chunks with whichever threads are idle, so nested parallelism uses
// the whole pool without oversubscribing it. Thread count: HATTN_NUM_THREADS, else the hardware's.
#pragma once
#include <cstdint>
#include <functional>

namespace ha {

int num_threads();
void set_num_threads(int n);

// fn(begin, end) over disjoint ranges covering [0, n), in any order and on any threads. The split depends
// only on n and grain, never on the thread count, so a kernel computes the same bits with 1 or 64 threads.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace ha
