// RMSNorm on the GPU (see rms_norm_cuda.h).
#include "ops/cuda/rms_norm_cuda.h"
#include "tensor/cuda/kernel_common.h"

namespace ha::cuda {
namespace {

// one block per row
template <class T>
__global__ void __launch_bounds__(kThreads) rms_forward_kernel(const T* x, const T* w, T* y, T* rstd, int64_t D, double eps) {
  const int64_t r = blockIdx.x;
  const T* xr = x + r * D;
  double ss = 0;
  for (int64_t i = threadIdx.x; i < D; i += kThreads) ss += double(xr[i]) * xr[i];
  const T rs = T(1.0 / sqrt(block_sum(ss) / D + eps));
  if (threadIdx.x == 0) rstd[r] = rs;
  for (int64_t i = threadIdx.x; i < D; i += kThreads) y[r * D + i] = xr[i] * rs * w[i];
}

template <class T>
__global__ void __launch_bounds__(kThreads) rms_backward_dx_kernel(const T* g, const T* x, const T* w, const T* rstd, T* dx, int64_t D) {
  const int64_t r = blockIdx.x;
  const T* xr = x + r * D;
  const T* gr = g + r * D;
  const T rr = rstd[r];
  double dot = 0;
  for (int64_t i = threadIdx.x; i < D; i += kThreads) dot += double(gr[i]) * w[i] * xr[i];
  const T c = T(block_sum(dot) * rr * rr * rr / D);
  for (int64_t i = threadIdx.x; i < D; i += kThreads) dx[r * D + i] = rr * gr[i] * w[i] - xr[i] * c;
}

// one thread per column, rows in order
template <class T>
__global__ void __launch_bounds__(kThreads) rms_backward_dw_kernel(const T* g, const T* x, const T* rstd, T* dw, int64_t R, int64_t D) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= D) return;
  double acc = 0;
  for (int64_t r = 0; r < R; ++r) acc += double(g[r * D + i]) * x[r * D + i] * rstd[r];
  dw[i] = T(acc);
}

}  // namespace

void rms_norm_forward(bool f64, const void* x, const void* w, void* y, void* rstd, int64_t R, int64_t D, double eps,
                      int device) {
  if (R == 0) return;
  HATTN_CHECK(R < (int64_t(1) << 31), "rms_norm (CUDA): too many rows");
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_float(f64, [&](auto t) {
    using T = decltype(t);
    HATTN_LAUNCH(unsigned(R), kThreads, 0, rms_forward_kernel<T>)(as<T>(x), as<T>(w), as<T>(y), as<T>(rstd), D, eps);
  });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

void rms_norm_backward(bool f64, const void* g, const void* x, const void* w, const void* rstd, void* dx, void* dw,
                       int64_t R, int64_t D, int device) {
  if (R == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_float(f64, [&](auto t) {
    using T = decltype(t);
    if (dx)
      HATTN_LAUNCH(unsigned(R), kThreads, 0, rms_backward_dx_kernel<T>)(as<T>(g), as<T>(x), as<T>(w), as<T>(rstd),
                                                                         as<T>(dx), D);
    if (dw)
      HATTN_LAUNCH(blocks_for(D), kThreads, 0, rms_backward_dw_kernel<T>)(as<T>(g), as<T>(x), as<T>(rstd), as<T>(dw),
                                                                           R, D);
  });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ha::cuda
