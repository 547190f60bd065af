// The depthwise causal conv1d on the GPU (see causal_conv1d_cuda.h).
#include "ops/cuda/causal_conv1d_cuda.h"
#include "tensor/cuda/kernel_common.h"

namespace ha::cuda {
namespace {

// y[b,e,t] = bias[e] + sum_k w[e,k] x[b,e,t-(K-1)+k]
template <class T>
__global__ void __launch_bounds__(kThreads) conv_forward_kernel(const T* x, const T* w, const T* bias, T* y, int64_t E, int64_t L, int64_t K,
                                    int64_t n) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const int64_t t = i % L, e = (i / L) % E;
  const T* xr = x + (i - t);
  T acc = bias ? bias[e] : T(0);
  for (int64_t k = 0; k < K; ++k) {
    const int64_t s = t - (K - 1) + k;
    if (s >= 0) acc += w[e * K + k] * xr[s];
  }
  y[i] = acc;
}

// dx[b,e,s] = sum_k w[e,k] g[b,e,s+(K-1)-k]
template <class T>
__global__ void __launch_bounds__(kThreads) conv_backward_dx_kernel(const T* g, const T* w, T* dx, int64_t E, int64_t L, int64_t K, int64_t n) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const int64_t s = i % L, e = (i / L) % E;
  const T* gr = g + (i - s);
  T acc = 0;
  for (int64_t k = 0; k < K; ++k) {
    const int64_t t = s + (K - 1) - k;
    if (t < L) acc += w[e * K + k] * gr[t];
  }
  dx[i] = acc;
}

// one thread per (e, k) for dw and per e for dbias; batches and steps in order
template <class T>
__global__ void __launch_bounds__(kThreads) conv_backward_dw_kernel(const T* g, const T* x, T* dw, T* dbias, int64_t B, int64_t E, int64_t L,
                                        int64_t K) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= E * (K + 1)) return;
  const int64_t e = i / (K + 1), k = i % (K + 1);  // k == K: the bias
  if ((k == K && !dbias) || (k < K && !dw)) return;
  double acc = 0;
  for (int64_t b = 0; b < B; ++b) {
    const T* gr = g + (b * E + e) * L;
    const T* xr = x + (b * E + e) * L;
    if (k == K) {
      for (int64_t t = 0; t < L; ++t) acc += gr[t];
    } else {
      for (int64_t t = K - 1 - k; t < L; ++t) acc += double(gr[t]) * xr[t - (K - 1) + k];
    }
  }
  if (k == K) {
    if (dbias) dbias[e] = T(acc);
  } else if (dw) {
    dw[e * K + k] = T(acc);
  }
}

}  // namespace

void causal_conv1d_forward(bool f64, const void* x, const void* w, const void* bias, void* y, int64_t B, int64_t E,
                           int64_t L, int64_t K, int device) {
  const int64_t n = B * E * L;
  if (n == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_float(f64, [&](auto t) {
    using T = decltype(t);
    HATTN_LAUNCH(blocks_for(n), kThreads, 0, conv_forward_kernel<T>)(as<T>(x), as<T>(w), as<T>(bias), as<T>(y), E, L,
                                                                      K, n);
  });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

void causal_conv1d_backward(bool f64, const void* g, const void* x, const void* w, void* dx, void* dw, void* dbias,
                            int64_t B, int64_t E, int64_t L, int64_t K, int device) {
  const int64_t n = B * E * L;
  if (n == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_float(f64, [&](auto t) {
    using T = decltype(t);
    if (dx)
      HATTN_LAUNCH(blocks_for(n), kThreads, 0, conv_backward_dx_kernel<T>)(as<T>(g), as<T>(w), as<T>(dx), E, L, K, n);
    if (dw || dbias)
      HATTN_LAUNCH(blocks_for(E * (K + 1)), kThreads, 0, conv_backward_dw_kernel<T>)(as<T>(g), as<T>(x), as<T>(dw),
                                                                                    as<T>(dbias), B, E, L, K);
  });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ha::cuda
