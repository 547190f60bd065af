// Row gather and its adjoint on the GPU (see index_rows_cuda.h).
#include "ops/cuda/index_rows_cuda.h"
#include "tensor/cuda/kernel_common.h"

namespace ha::cuda {
namespace {

template <class T>
__global__ void __launch_bounds__(kThreads) gather_rows_kernel(const T* x, const int64_t* index, T* out, int64_t n, int64_t width) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;  // over (position, column)
  if (i >= n * width) return;
  const int64_t p = i / width, c = i % width;
  out[i] = x[index[p] * width + c];
}

template <class T>
__global__ void __launch_bounds__(kThreads) scatter_rows_kernel(const T* g, const int64_t* rows_used, const int64_t* offsets,
                                    const int64_t* positions, int64_t used, T* dx, int64_t width) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;  // over (used row, column)
  if (i >= used * width) return;
  const int64_t u = i / width, c = i % width;
  T acc = 0;
  for (int64_t k = offsets[u]; k < offsets[u + 1]; ++k) acc += g[positions[k] * width + c];
  dx[rows_used[u] * width + c] += acc;
}

}  // namespace

void gather_rows(bool f64, const void* x, const int64_t* index, void* out, int64_t n, int64_t width, int device) {
  if (n == 0 || width == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_float(f64, [&](auto t) {
    using T = decltype(t);
    HATTN_LAUNCH(blocks_for(n * width), kThreads, 0, gather_rows_kernel<T>)(as<T>(x), index, as<T>(out), n, width);
  });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

void scatter_add_rows(bool f64, const void* g, const int64_t* rows_used, const int64_t* offsets,
                      const int64_t* positions, int64_t used, void* dx, int64_t width, int device) {
  if (used == 0 || width == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_float(f64, [&](auto t) {
    using T = decltype(t);
    HATTN_LAUNCH(blocks_for(used * width), kThreads, 0, scatter_rows_kernel<T>)(as<T>(g), rows_used, offsets,
                                                                                  positions, used, as<T>(dx), width);
  });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ha::cuda
