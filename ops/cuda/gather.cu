// gather and scatter_add along any dim on the GPU (see gather_cuda.h).
#include "ops/cuda/gather_cuda.h"
#include "tensor/cuda/kernel_common.h"

namespace ha::cuda {
namespace {

int64_t count_of(const int64_t* shape, int nd) {
  int64_t n = 1;
  for (int k = 0; k < nd; ++k) n *= shape[k];
  return n;
}

// Element offsets in the index (row-major) and in the data: one thread per index element.
template <class T>
__global__ void __launch_bounds__(kThreads) gather_kernel(const T* x, const int64_t* index, T* out, IndexSpace s,
                                                          int64_t n) {
  const int64_t i = blockIdx.x * int64_t(kThreads) + threadIdx.x;
  if (i >= n) return;
  int64_t rest = i, offset = 0;
  for (int k = s.nd - 1; k >= 0; --k) {
    const int64_t p = rest % s.index_shape[k];
    rest /= s.index_shape[k];
    offset += (k == s.dim ? index[i] : p) * s.data_stride[k];
  }
  out[i] = x[offset];
}

// One thread per output element: its index column along dim, in order. Each output reads the whole column, so
// the cost is outputs × column length: right for gather's adjoint over short columns (cross-entropy's: 1), slow
// for long ones, which index_select avoids by taking the row kernels (index_rows.cu) on the GPU.
template <class T>
__global__ void __launch_bounds__(kThreads) scatter_add_kernel(const T* src, const int64_t* index, T* out,
                                                               IndexSpace s, int64_t n) {
  const int64_t o = blockIdx.x * int64_t(kThreads) + threadIdx.x;
  if (o >= n) return;
  int64_t rest = o, base = 0, step = 1, target = 0, stride = 1;  // stride: the index's, row-major
  bool covered = true;  // the index reaches this position in every dim but dim
  for (int k = s.nd - 1; k >= 0; --k) {
    const int64_t p = rest % s.data_shape[k];
    rest /= s.data_shape[k];
    if (k == s.dim) {
      target = p, step = stride;
    } else {
      covered = covered && p < s.index_shape[k];
      base += p * stride;
    }
    stride *= s.index_shape[k];
  }
  T acc = 0;
  if (covered)
    for (int64_t j = 0; j < s.index_shape[s.dim]; ++j) {
      const int64_t at = base + j * step;
      if (index[at] == target) acc += src[at];
    }
  out[o] = acc;
}

}  // namespace

void gather(bool f64, const void* x, const int64_t* index, void* out, const IndexSpace& space, int device) {
  const int64_t n = count_of(space.index_shape, space.nd);
  if (n == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_float(f64, [&](auto t) {
    using T = decltype(t);
    HATTN_LAUNCH(blocks_for(n), kThreads, 0, gather_kernel<T>)(as<T>(x), index, as<T>(out), space, n);
  });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

void scatter_add(bool f64, const void* src, const int64_t* index, void* out, const IndexSpace& space, int device) {
  const int64_t n = count_of(space.data_shape, space.nd);
  if (n == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_float(f64, [&](auto t) {
    using T = decltype(t);
    HATTN_LAUNCH(blocks_for(n), kThreads, 0, scatter_add_kernel<T>)(as<T>(src), index, as<T>(out), space, n);
  });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ha::cuda
