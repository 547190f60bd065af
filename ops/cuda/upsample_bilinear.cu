// Bilinear upsampling on the GPU (see upsample_bilinear_cuda.h); taps as in ops/upsample_bilinear.cpp.
#include "ops/cuda/upsample_bilinear_cuda.h"
#include "tensor/cuda/kernel_common.h"

namespace ha::cuda {
namespace {

struct Tap {
  int64_t i0, i1;
  double frac;
};

__device__ Tap tap(int64_t o, int64_t in, int64_t out) {
  const double src = fmax(0.0, (o + 0.5) * (double(in) / double(out)) - 0.5);
  const int64_t i0 = min(int64_t(src), in - 1);
  return {i0, min(i0 + 1, in - 1), src - double(i0)};
}

template <class T>
__global__ void __launch_bounds__(kThreads) forward_kernel(const T* x, T* y, int64_t P, int64_t H, int64_t W, int64_t oh_n, int64_t ow_n) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= P * oh_n * ow_n) return;
  const int64_t ow = i % ow_n, oh = (i / ow_n) % oh_n, p = i / (ow_n * oh_n);
  const Tap th = tap(oh, H, oh_n), tw = tap(ow, W, ow_n);
  const T fh = T(th.frac), fw = T(tw.frac);
  const T* r0 = x + (p * H + th.i0) * W;
  const T* r1 = x + (p * H + th.i1) * W;
  y[i] = (T(1) - fh) * ((T(1) - fw) * r0[tw.i0] + fw * r0[tw.i1]) + fh * ((T(1) - fw) * r1[tw.i0] + fw * r1[tw.i1]);
}

// The output indices whose taps can include input index i: a window around i's image under the scale, wide enough
// for both taps (each is then tested); for i <= 1 from 0, since every output whose source clamps to 0 taps 0 and 1
// (with weight 0 for 1, which the CPU's scatter still adds: 0 · inf is NaN on both).
struct Window {
  int64_t lo, hi;
};

__device__ Window window(int64_t i, int64_t in, int64_t out) {
  const double s = double(out) / double(in);
  return {i <= 1 ? int64_t(0) : max(int64_t(0), int64_t(floor((double(i) - 0.5) * s - 0.5)) - 2),
          min(out - 1, int64_t(ceil((double(i) + 1.5) * s - 0.5)) + 2)};
}

// One thread per input pixel, gathering the output pixels whose taps include it, in the order the CPU's scatter
// adds them: output row, column, then the four corners (deterministic, no atomics).
template <class T>
__global__ void __launch_bounds__(kThreads) backward_kernel(const T* g, T* dx, int64_t P, int64_t H, int64_t W, int64_t oh_n, int64_t ow_n) {
  const int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (k >= P * H * W) return;
  const int64_t j = k % W, i = (k / W) % H, p = k / (W * H);
  const T* gp = g + p * oh_n * ow_n;
  const Window rows = window(i, H, oh_n), cols = window(j, W, ow_n);
  T acc = T(0);
  for (int64_t oh = rows.lo; oh <= rows.hi; ++oh) {
    const Tap th = tap(oh, H, oh_n);
    if (th.i0 != i && th.i1 != i) continue;
    const T fh = T(th.frac);
    for (int64_t ow = cols.lo; ow <= cols.hi; ++ow) {
      const Tap tw = tap(ow, W, ow_n);
      if (tw.i0 != j && tw.i1 != j) continue;
      const T fw = T(tw.frac), v = gp[oh * ow_n + ow];
      if (th.i0 == i && tw.i0 == j) acc += (T(1) - fh) * (T(1) - fw) * v;
      if (th.i0 == i && tw.i1 == j) acc += (T(1) - fh) * fw * v;
      if (th.i1 == i && tw.i0 == j) acc += fh * (T(1) - fw) * v;
      if (th.i1 == i && tw.i1 == j) acc += fh * fw * v;
    }
  }
  dx[k] = acc;
}

}  // namespace

void upsample_bilinear_forward(bool f64, const void* x, void* y, int64_t P, int64_t H, int64_t W, int64_t out_h,
                               int64_t out_w, int device) {
  const int64_t n = P * out_h * out_w;
  if (n == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_float(f64, [&](auto t) {
    using T = decltype(t);
    HATTN_LAUNCH(blocks_for(n), kThreads, 0, forward_kernel<T>)(as<T>(x), as<T>(y), P, H, W, out_h, out_w);
  });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

void upsample_bilinear_backward(bool f64, const void* g, void* dx, int64_t P, int64_t H, int64_t W, int64_t out_h,
                                int64_t out_w, int device) {
  const int64_t n = P * H * W;
  if (n == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_float(f64, [&](auto t) {
    using T = decltype(t);
    HATTN_LAUNCH(blocks_for(n), kThreads, 0, backward_kernel<T>)(as<T>(g), as<T>(dx), P, H, W, out_h, out_w);
  });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ha::cuda
