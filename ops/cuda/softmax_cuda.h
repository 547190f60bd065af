// softmax / log_softmax along the rows of a contiguous (R, D) device buffer, one block per row with
// fixed-order block reductions (deterministic). float32 and float64; the math of ops/softmax.cpp.
#pragma once
#include <cstdint>

#include "tensor/cuda/entry.h"

namespace ha::cuda {

HATTN_CUDA_ENTRY(void softmax_rows(bool f64, bool log, const void* x, void* y, int64_t R, int64_t D, int device));

}  // namespace ha::cuda
