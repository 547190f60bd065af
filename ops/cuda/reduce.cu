// sum and max / min on the GPU (see reduce_cuda.h).
#include "ops/cuda/reduce_cuda.h"
#include "tensor/cuda/kernel_common.h"

#include <algorithm>

#include "tensor/cuda/cuda_memory.h"

namespace ha::cuda {
namespace {

template <class T>
__global__ void __launch_bounds__(kThreads) sum_kernel(const T* x, T* out, Strided kept, Strided reduced, int64_t n_out, int64_t n_red) {
  const int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (o >= n_out) return;
  int64_t base[1];
  offsets_of<1>(kept, o, 0, base);
  double acc = 0;
  for (int64_t r = 0; r < n_red; ++r) {
    int64_t off[1];
    offsets_of<1>(reduced, r, 0, off);
    acc += double(x[base[0] + off[0]]);
  }
  out[o] = T(acc);
}

// Few outputs over many elements: output o's reduced range in S slices, block (s, o) summing slice s (threads
// strided over it, then a fixed tree): partial[o · S + s], in double.
template <class T>
__global__ void __launch_bounds__(kThreads) sum_slices_kernel(const T* x, double* partial, Strided kept, Strided reduced,
                                                             int64_t n_red, int64_t slice) {
  const int64_t o = blockIdx.y, s = blockIdx.x, r0 = s * slice, r1 = min(n_red, r0 + slice);
  int64_t base[1];
  offsets_of<1>(kept, o, 0, base);
  double acc = 0;
  for (int64_t r = r0 + threadIdx.x; r < r1; r += kThreads) {
    int64_t off[1];
    offsets_of<1>(reduced, r, 0, off);
    acc += double(x[base[0] + off[0]]);
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) partial[o * gridDim.x + s] = acc;
}

// out[o] = the sum of output o's S partials (S <= kThreads), by the same tree.
template <class T>
__global__ void __launch_bounds__(kThreads) sum_partials_kernel(const double* partial, T* out, int S) {
  const double v = int(threadIdx.x) < S ? partial[size_t(blockIdx.x) * S + threadIdx.x] : 0.0;
  const double total = block_sum(v);
  if (threadIdx.x == 0) out[blockIdx.x] = T(total);
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

// one block per row
template <class T>
__global__ void __launch_bounds__(kThreads) extremum_kernel(const T* x, T* values, int64_t* indices, int64_t D, bool want_max) {
  const T* xr = x + blockIdx.x * D;
  Best<T> best{xr[0], 0};
  for (int64_t i = threadIdx.x; i < D; i += kThreads) {
    const Best<T> c{xr[i], i};
    if (better(c, best, want_max)) best = c;
  }
  best = block_reduce<Best<T>>(best, [want_max](Best<T> a, Best<T> b) { return better(b, a, want_max) ? b : a; });
  if (threadIdx.x == 0) values[blockIdx.x] = best.v, indices[blockIdx.x] = best.i;
}

}  // namespace

void sum(bool f64, const void* x, void* out, const Strided& kept, const Strided& reduced, int device) {
  const int64_t n_out = element_count(kept), n_red = element_count(reduced);
  if (n_out == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  // one thread per output, unless a few outputs each sum many elements (a full sum): then S blocks per output
  const bool sliced = n_out < 2048 && n_red >= 2048;
  with_float(f64, [&](auto t) {
    using T = decltype(t);
    if (sliced) {
      const int64_t S = std::min<int64_t>(kThreads, (n_red + kThreads * 8 - 1) / (kThreads * 8));
      const int64_t slice = (n_red + S - 1) / S;
      const DeviceScratch<double> partial(size_t(n_out * S), device);
      HATTN_LAUNCH(dim3(unsigned(S), unsigned(n_out)), kThreads, 0, sum_slices_kernel<T>)(as<T>(x), partial.get(), kept,
                                                                                           reduced, n_red, slice);
      HATTN_LAUNCH(unsigned(n_out), kThreads, 0, sum_partials_kernel<T>)(partial.get(), as<T>(out), int(S));
    } else {
      HATTN_LAUNCH(blocks_for(n_out), kThreads, 0, sum_kernel<T>)(as<T>(x), as<T>(out), kept, reduced, n_out, n_red);
    }
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
    HATTN_LAUNCH(unsigned(R), kThreads, 0, extremum_kernel<T>)(as<T>(x), as<T>(values), indices, D, want_max);
  });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ha::cuda
