// softmax / log_softmax along rows on the GPU (see softmax_cuda.h).
#include "ops/cuda/softmax_cuda.h"
#include "tensor/cuda/kernel_common.h"

namespace ha::cuda {
namespace {

template <class T>
__global__ void __launch_bounds__(kThreads) softmax_kernel(const T* x, T* y, int64_t D, bool log) {
  const T* xr = x + blockIdx.x * D;
  T* yr = y + blockIdx.x * D;
  T m = xr[0];
  for (int64_t i = threadIdx.x; i < D; i += kThreads) m = xr[i] > m ? xr[i] : m;
  m = block_reduce<T>(m, [](T a, T b) { return a > b ? a : b; });
  double s = 0;
  for (int64_t i = threadIdx.x; i < D; i += kThreads) s += exp(double(xr[i] - m));
  s = block_sum(s);
  if (log) {
    const T lse = T(::log(s)) + m;
    for (int64_t i = threadIdx.x; i < D; i += kThreads) yr[i] = xr[i] - lse;
  } else {
    for (int64_t i = threadIdx.x; i < D; i += kThreads) yr[i] = T(exp(double(xr[i] - m)) / s);
  }
}

}  // namespace

void softmax_rows(bool f64, bool log, const void* x, void* y, int64_t R, int64_t D, int device) {
  if (R == 0 || D == 0) return;
  HATTN_CHECK(R < (int64_t(1) << 31), "softmax (CUDA): too many rows");
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_float(f64, [&](auto t) {
    using T = decltype(t);
    HATTN_LAUNCH(unsigned(R), kThreads, 0, softmax_kernel<T>)(as<T>(x), as<T>(y), D, log);
  });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ha::cuda
