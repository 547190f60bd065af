// CUDA kernels of RMSNorm, LayerNorm and the depthwise causal conv1d, forward and backward (float32 and float64,
// contiguous device buffers, same math and layouts as ops/rms_norm.cpp and ops/causal_conv1d.cpp).
// Reductions run in a fixed order (block trees, per-column loops): results are deterministic.
// A CPU-only build links norm_conv_stub.cpp instead.
#pragma once
#include <cstdint>

namespace ha::cuda {

// x (R, D), w (D) -> y (R, D), rstd (R)
void rms_norm_forward(bool f64, const void* x, const void* w, void* y, void* rstd, int64_t R, int64_t D, double eps,
                      int device);
// dx (R, D) and dw (D); either may be null
void rms_norm_backward(bool f64, const void* g, const void* x, const void* w, const void* rstd, void* dx, void* dw,
                       int64_t R, int64_t D, int device);

// x (R, D), w (D), b (D) -> y, xhat (R, D), rstd (R)
void layer_norm_forward(bool f64, const void* x, const void* w, const void* b, void* y, void* xhat, void* rstd,
                        int64_t R, int64_t D, double eps, int device);
// dx (R, D), dw (D), db (D); any may be null
void layer_norm_backward(bool f64, const void* g, const void* xhat, const void* w, const void* rstd, void* dx,
                         void* dw, void* db, int64_t R, int64_t D, int device);

// x (B, E, L), w (E, K), bias (E) or null -> y (B, E, L)
void causal_conv1d_forward(bool f64, const void* x, const void* w, const void* bias, void* y, int64_t B, int64_t E,
                           int64_t L, int64_t K, int device);
// dx (B, E, L), dw (E, K), dbias (E); any may be null
void causal_conv1d_backward(bool f64, const void* g, const void* x, const void* w, void* dx, void* dw, void* dbias,
                            int64_t B, int64_t E, int64_t L, int64_t K, int device);

}  // namespace ha::cuda
