// The depthwise causal conv1d of the Mamba mixer on the GPU, forward and backward (float32 and float64,
// contiguous device buffers; the same math and layouts as ops/causal_conv1d.cpp). The weight gradient sums
// batches and steps in order: deterministic, no atomics.
#pragma once
#include <cstdint>

#include "tensor/cuda/entry.h"

namespace ha::cuda {

// x (B, E, L), w (E, K), bias (E) or null -> y (B, E, L)
HATTN_CUDA_ENTRY(void causal_conv1d_forward(bool f64, const void* x, const void* w, const void* bias, void* y,
                                           int64_t B, int64_t E, int64_t L, int64_t K, int device));
// dx (B, E, L), dw (E, K), dbias (E); any may be null
HATTN_CUDA_ENTRY(void causal_conv1d_backward(bool f64, const void* g, const void* x, const void* w, void* dx,
                                            void* dw, void* dbias, int64_t B, int64_t E, int64_t L, int64_t K,
                                            int device));

}  // namespace ha::cuda
