// The reductions of ops/reduce.cpp on the GPU (float32 and float64, device pointers), in a fixed order
// (deterministic, no atomics):
//   sum:           one thread per output element over any set of dims of a strided input;
//   extremum_rows: max / min of each row of a contiguous (R, D) buffer with its index, one block per row
//                  (first occurrence wins; NaN wins, as on the CPU).
#pragma once
#include <cstdint>

#include "tensor/cuda/entry.h"
#include "tensor/cuda/strided.h"

namespace ha::cuda {

// out[o] = sum over the reduced dims of x. kept: the output's dims with x's strides in stride[0];
// reduced: the summed dims with x's strides in stride[0]. Accumulates in double.
HATTN_CUDA_ENTRY(void sum(bool f64, const void* x, void* out, const Strided& kept, const Strided& reduced,
                          int device));
// values (R) and int64 indices (R)
HATTN_CUDA_ENTRY(void extremum_rows(bool f64, bool want_max, const void* x, void* values, int64_t* indices,
                                    int64_t R, int64_t D, int device));

}  // namespace ha::cuda
