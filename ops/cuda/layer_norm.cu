// LayerNorm on the GPU (see layer_norm_cuda.h).
#include "ops/cuda/layer_norm_cuda.h"
#include "tensor/cuda/kernel_common.h"

namespace ha::cuda {
namespace {

// one block per row
template <class T>
__global__ void __launch_bounds__(kThreads) ln_forward_kernel(const T* x, const T* w, const T* b, T* y, T* xhat, T* rstd, int64_t D, double eps) {
  const int64_t r = blockIdx.x;
  const T* xr = x + r * D;
  double s = 0;
  for (int64_t i = threadIdx.x; i < D; i += kThreads) s += xr[i];
  const double m = block_sum(s) / D;
  double v = 0;
  for (int64_t i = threadIdx.x; i < D; i += kThreads) v += (xr[i] - m) * (xr[i] - m);
  const double rs = 1.0 / sqrt(block_sum(v) / D + eps);
  if (threadIdx.x == 0) rstd[r] = T(rs);
  for (int64_t i = threadIdx.x; i < D; i += kThreads) {
    const T h = T((xr[i] - m) * rs);
    xhat[r * D + i] = h;
    y[r * D + i] = h * w[i] + b[i];
  }
}

template <class T>
__global__ void __launch_bounds__(kThreads) ln_backward_dx_kernel(const T* g, const T* xhat, const T* w, const T* rstd, T* dx, int64_t D) {
  const int64_t r = blockIdx.x;
  const T* gr = g + r * D;
  const T* hr = xhat + r * D;
  double s1 = 0, s2 = 0;
  for (int64_t i = threadIdx.x; i < D; i += kThreads) {
    s1 += double(gr[i]) * w[i];
    s2 += double(gr[i]) * w[i] * hr[i];
  }
  const T m1 = T(block_sum(s1) / D), m2 = T(block_sum(s2) / D);
  for (int64_t i = threadIdx.x; i < D; i += kThreads) dx[r * D + i] = rstd[r] * (gr[i] * w[i] - m1 - hr[i] * m2);
}

// one thread per column: dw = Σ_r g xhat, db = Σ_r g, rows in order
template <class T>
__global__ void __launch_bounds__(kThreads) ln_backward_wb_kernel(const T* g, const T* xhat, T* dw, T* db, int64_t R, int64_t D) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= D) return;
  double aw = 0, ab = 0;
  for (int64_t r = 0; r < R; ++r) {
    aw += double(g[r * D + i]) * xhat[r * D + i];
    ab += g[r * D + i];
  }
  if (dw) dw[i] = T(aw);
  if (db) db[i] = T(ab);
}

}  // namespace

void layer_norm_forward(bool f64, const void* x, const void* w, const void* b, void* y, void* xhat, void* rstd,
                        int64_t R, int64_t D, double eps, int device) {
  if (R == 0) return;
  HATTN_CHECK(R < (int64_t(1) << 31), "layer_norm (CUDA): too many rows");
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_float(f64, [&](auto t) {
    using T = decltype(t);
    HATTN_LAUNCH(unsigned(R), kThreads, 0, ln_forward_kernel<T>)(as<T>(x), as<T>(w), as<T>(b), as<T>(y), as<T>(xhat),
                                                                  as<T>(rstd), D, eps);
  });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

void layer_norm_backward(bool f64, const void* g, const void* xhat, const void* w, const void* rstd, void* dx,
                         void* dw, void* db, int64_t R, int64_t D, int device) {
  if (R == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_float(f64, [&](auto t) {
    using T = decltype(t);
    if (dx)
      HATTN_LAUNCH(unsigned(R), kThreads, 0, ln_backward_dx_kernel<T>)(as<T>(g), as<T>(xhat), as<T>(w), as<T>(rstd),
                                                                        as<T>(dx), D);
    if (dw || db)
      HATTN_LAUNCH(blocks_for(D), kThreads, 0, ln_backward_wb_kernel<T>)(as<T>(g), as<T>(xhat), as<T>(dw), as<T>(db),
                                                                          R, D);
  });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ha::cuda
