// A small persistent thread pool. parallel_for splits [0, n) into contiguous chunks of at least `grain`
// items. Calls from inside a worker run serially, so kernels may nest without oversubscribing.
// Thread count: HATTN_NUM_THREADS, else the hardware's.
#pragma once
#include <cstdint>
#include <functional>

namespace ha {

int num_threads();
void set_num_threads(int n);

// fn(begin, end) over disjoint ranges covering [0, n). The split depends only on n, grain and the
// thread count; results that must be bitwise reproducible must not depend on it (see ops/ reductions).
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace ha
