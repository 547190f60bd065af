// What the kernel files share: the block size of one-thread-per-element kernels and the grid that covers n
// elements, typed views of void* buffers, the offsets of a linear index in a Strided iteration space, and the fixed-order block reduction.
// Included by .cu files only.
#pragma once
#include <cstdint>

#include "tensor/cuda/cuda_check.h"
#include "tensor/cuda/strided.h"

namespace ha::cuda {

constexpr int kThreads = 256;

inline unsigned blocks_for(int64_t n, int threads = kThreads) {
  return static_cast<unsigned>((n + threads - 1) / threads);
}

// The entry points take void* buffers; kernels take typed ones.
template <class T>
const T* as(const void* p) { return static_cast<const T*>(p); }
template <class T>
T* as(void* p) { return static_cast<T*>(p); }

inline int64_t element_count(const Strided& s) {
  int64_t n = 1;
  for (int d = 0; d < s.nd; ++d) n *= s.shape[d];
  return n;
}

// Offsets of linear index i of the iteration space s in operands k0..k0+K-1.
template <int K>
__device__ __forceinline__ void offsets_of(const Strided& s, int64_t i, int k0, int64_t (&off)[K]) {
  for (int k = 0; k < K; ++k) off[k] = 0;
  for (int d = s.nd - 1; d >= 0; --d) {
    const int64_t idx = i % s.shape[d];
    i /= s.shape[d];
    for (int k = 0; k < K; ++k) off[k] += idx * s.stride[k0 + k][d];
  }
}

// Combines one value per thread over a block of kThreads threads in a fixed tree order (deterministic);
// every thread receives the result.
template <class T, class F>
__device__ T block_reduce(T v, F combine) {
  HATTN_SHARED_ARRAY(T, buf, kThreads);
  buf[threadIdx.x] = v;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) buf[threadIdx.x] = combine(buf[threadIdx.x], buf[threadIdx.x + s]);
    __syncthreads();
  }
  const T r = buf[0];
  __syncthreads();  // buf is reused by the next reduction
  return r;
}

__device__ inline double block_sum(double v) {
  return block_reduce<double>(v, [](double a, double b) { return a + b; });
}

}  // namespace ha::cuda
