// LayerNorm on the GPU, forward and backward (float32 and float64, contiguous device buffers; the same math
// and layouts as ops/layer_norm.cpp). Row sums are fixed-order block trees, column sums run rows in order:
// results are deterministic.
#pragma once
#include <cstdint>

#include "tensor/cuda/entry.h"

namespace ha::cuda {

// x (R, D), w (D), b (D) -> y, xhat (R, D), rstd (R)
HATTN_CUDA_ENTRY(void layer_norm_forward(bool f64, const void* x, const void* w, const void* b, void* y, void* xhat,
                                        void* rstd, int64_t R, int64_t D, double eps, int device));
// dx (R, D), dw (D), db (D); any may be null
HATTN_CUDA_ENTRY(void layer_norm_backward(bool f64, const void* g, const void* xhat, const void* w, const void* rstd,
                                         void* dx, void* dw, void* db, int64_t R, int64_t D, int device));

}  // namespace ha::cuda
