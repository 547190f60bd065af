// im2col and a gathering col2im on the GPU (see conv2d_cuda.h).
#include "ops/cuda/conv2d_cuda.h"
#include "tensor/cuda/kernel_common.h"

namespace ha::cuda {
namespace {

template <class T>
__global__ void __launch_bounds__(kThreads) im2col_kernel(const T* x, ConvShape s, T* cols, int64_t ld, int64_t n) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const int64_t hw = s.Ho * s.Wo, r = i / hw, p = i % hw;
  const int64_t c = r / (s.kh * s.kw), ki = (r / s.kw) % s.kh, kj = r % s.kw;
  const int64_t h = (p / s.Wo) * s.sh - s.ph + ki, w = (p % s.Wo) * s.sw - s.pw + kj;
  cols[r * ld + p] = (h >= 0 && h < s.H && w >= 0 && w < s.W) ? x[(c * s.H + h) * s.W + w] : T(0);
}

// thread per input element (c, h, w): the windows (ki, kj) that cover it, in order
template <class T>
__global__ void __launch_bounds__(kThreads) col2im_kernel(const T* cols, ConvShape s, T* dx, int64_t n) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const int64_t w = i % s.W, h = (i / s.W) % s.H, c = i / (s.W * s.H), hw = s.Ho * s.Wo;
  T acc = 0;
  for (int64_t ki = 0; ki < s.kh; ++ki) {
    const int64_t oh_s = h + s.ph - ki;  // = oh · sh
    if (oh_s < 0 || oh_s % s.sh) continue;
    const int64_t oh = oh_s / s.sh;
    if (oh >= s.Ho) continue;
    for (int64_t kj = 0; kj < s.kw; ++kj) {
      const int64_t ow_s = w + s.pw - kj;
      if (ow_s < 0 || ow_s % s.sw) continue;
      const int64_t ow = ow_s / s.sw;
      if (ow >= s.Wo) continue;
      acc += cols[((c * s.kh + ki) * s.kw + kj) * hw + oh * s.Wo + ow];
    }
  }
  dx[i] = acc;
}

}  // namespace

void im2col(bool f64, const void* x, const ConvShape& s, void* cols, int64_t ld, int device) {
  const int64_t n = s.C * s.kh * s.kw * s.Ho * s.Wo;
  if (n == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_float(f64, [&](auto t) {
    using T = decltype(t);
    HATTN_LAUNCH(blocks_for(n), kThreads, 0, im2col_kernel<T>)(as<T>(x), s, as<T>(cols), ld, n);
  });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

void col2im(bool f64, const void* cols, const ConvShape& s, void* dx, int device) {
  const int64_t n = s.C * s.H * s.W;
  if (n == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_float(f64, [&](auto t) {
    using T = decltype(t);
    HATTN_LAUNCH(blocks_for(n), kThreads, 0, col2im_kernel<T>)(as<T>(cols), s, as<T>(dx), n);
  });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ha::cuda
