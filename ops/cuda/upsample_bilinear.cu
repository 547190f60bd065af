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

template <class T>
__global__ void __launch_bounds__(kThreads) backward_kernel(const T* g, T* dx, int64_t P, int64_t H, int64_t W, int64_t oh_n, int64_t ow_n) {
  const int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (p >= P) return;
  T* d = dx + p * H * W;
  for (int64_t k = 0; k < H * W; ++k) d[k] = T(0);
  const T* gp = g + p * oh_n * ow_n;
  for (int64_t oh = 0; oh < oh_n; ++oh) {
    const Tap th = tap(oh, H, oh_n);
    const T fh = T(th.frac);
    T* r0 = d + th.i0 * W;
    T* r1 = d + th.i1 * W;
    for (int64_t ow = 0; ow < ow_n; ++ow) {
      const Tap tw = tap(ow, W, ow_n);
      const T fw = T(tw.frac), v = gp[oh * ow_n + ow];
      r0[tw.i0] += (T(1) - fh) * (T(1) - fw) * v;
      r0[tw.i1] += (T(1) - fh) * fw * v;
      r1[tw.i0] += fh * (T(1) - fw) * v;
      r1[tw.i1] += fh * fw * v;
    }
  }
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
  if (P == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_float(f64, [&](auto t) {
    using T = decltype(t);
    HATTN_LAUNCH(blocks_for(P), kThreads, 0, backward_kernel<T>)(as<T>(g), as<T>(dx), P, H, W, out_h, out_w);
  });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ha::cuda
