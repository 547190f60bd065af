// Row-wise CUDA kernels over contiguous (R, D) buffers, one block per row with fixed-order block reductions
// (deterministic): softmax / log_softmax, and max / min with their index (first occurrence wins; NaN wins,
// as on the CPU). float32 and float64. A CPU-only build links rows_stub.cpp instead.
#pragma once
#include <cstdint>

namespace ha::cuda {

void softmax_rows(bool f64, bool log, const void* x, void* y, int64_t R, int64_t D, int device);
// values (R) and int64 indices (R)
void extremum_rows(bool f64, bool want_max, const void* x, void* values, int64_t* indices, int64_t R, int64_t D,
                   int device);

}  // namespace ha::cuda
