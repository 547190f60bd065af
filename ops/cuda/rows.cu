// softmax / log_softmax and max / min along rows on the GPU (see rows_cuda.h).
#include "ops/cuda/rows_cuda.h"
#include "tensor/cuda/cuda_check.h"

namespace ha::cuda {
namespace {

constexpr int kThreads = 256;

// fixed-order tree reductions over the block; every thread receives the result
template <class T, class F>
__device__ T block_reduce(T v, F combine) {
  __shared__ T buf[kThreads];
  buf[threadIdx.x] = v;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) buf[threadIdx.x] = combine(buf[threadIdx.x], buf[threadIdx.x + s]);
    __syncthreads();
  }
  const T r = buf[0];
  __syncthreads();
  return r;
}

template <class T>
__global__ void softmax_kernel(const T* x, T* y, int64_t D, bool log) {
  const T* xr = x + blockIdx.x * D;
  T* yr = y + blockIdx.x * D;
  T m = xr[0];
  for (int64_t i = threadIdx.x; i < D; i += kThreads) m = xr[i] > m ? xr[i] : m;
  m = block_reduce<T>(m, [](T a, T b) { return a > b ? a : b; });
  double s = 0;
  for (int64_t i = threadIdx.x; i < D; i += kThreads) s += exp(double(xr[i] - m));
  s = block_reduce<double>(s, [](double a, double b) { return a + b; });
  if (log) {
    const T lse = T(::log(s)) + m;
    for (int64_t i = threadIdx.x; i < D; i += kThreads) yr[i] = xr[i] - lse;
  } else {
    for (int64_t i = threadIdx.x; i < D; i += kThreads) yr[i] = T(exp(double(xr[i] - m)) / s);
  }
}

template <class T>
struct Best {
  T v;
  int64_t i;
};

// a better than b? (max or min; NaN wins; ties go to the lower index)
template <class T>
__device__ bool better(const Best<T>& a, const Best<T>& b, bool want_max) {
  const bool an = isnan(a.v), bn = isnan(b.v);
  if (an || bn) return an && (!bn || a.i < b.i);
  if (a.v == b.v) return a.i < b.i;
  return want_max ? a.v > b.v : a.v < b.v;
}

template <class T>
__global__ void extremum_kernel(const T* x, T* values, int64_t* indices, int64_t D, bool want_max) {
  const T* xr = x + blockIdx.x * D;
  Best<T> best{xr[0], 0};
  for (int64_t i = threadIdx.x; i < D; i += kThreads) {
    const Best<T> c{xr[i], i};
    if (better(c, best, want_max)) best = c;
  }
  __shared__ T sv[kThreads];
  __shared__ int64_t si[kThreads];
  sv[threadIdx.x] = best.v;
  si[threadIdx.x] = best.i;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) {
      const Best<T> a{sv[threadIdx.x], si[threadIdx.x]}, b{sv[threadIdx.x + s], si[threadIdx.x + s]};
      if (better(b, a, want_max)) sv[threadIdx.x] = b.v, si[threadIdx.x] = b.i;
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) values[blockIdx.x] = sv[0], indices[blockIdx.x] = si[0];
}

}  // namespace

void softmax_rows(bool f64, bool log, const void* x, void* y, int64_t R, int64_t D, int device) {
  if (R == 0 || D == 0) return;
  HATTN_CHECK(R < (int64_t(1) << 31), "softmax (CUDA): too many rows");
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_float(f64, [&](auto t) {
    using T = decltype(t);
    HATTN_LAUNCH(unsigned(R), kThreads, 0, softmax_kernel<T>)(static_cast<const T*>(x), static_cast<T*>(y), D, log);
  });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

void extremum_rows(bool f64, bool want_max, const void* x, void* values, int64_t* indices, int64_t R, int64_t D,
                   int device) {
  if (R == 0 || D == 0) return;
  HATTN_CHECK(R < (int64_t(1) << 31), "max/min (CUDA): too many rows");
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_float(f64, [&](auto t) {
    using T = decltype(t);
    HATTN_LAUNCH(unsigned(R), kThreads, 0, extremum_kernel<T>)(static_cast<const T*>(x), static_cast<T*>(values), indices, D, want_max);
  });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ha::cuda
