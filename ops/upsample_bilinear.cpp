// Bilinear upsampling with PyTorch's align_corners=False semantics: output pixel o samples the input at
//   src = max(0, (o + 0.5) * in/out - 0.5),  i0 = floor(src),  i1 = min(i0 + 1, in - 1),  frac = src - i0.
// Backward scatters each output gradient to its four taps with the same weights; each (n, c) plane is
// independent, so planes run in parallel deterministically.
#include <cmath>

#include "autograd/function_node.h"
#include "ops/cuda/upsample_bilinear_cuda.h"
#include "ops/dispatch.h"
#include "ops/ops.h"
#include "tensor/parallel.h"

namespace ha {
namespace {

struct Taps {
  std::vector<int64_t> i0, i1;
  std::vector<double> frac;
};

Taps taps(int64_t in, int64_t out) {
  Taps t;
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  for (int64_t o = 0; o < out; ++o) {
    double src = std::max(0.0, (o + 0.5) * scale - 0.5);
    int64_t i0 = std::min<int64_t>(static_cast<int64_t>(src), in - 1);
    t.i0.push_back(i0);
    t.i1.push_back(std::min<int64_t>(i0 + 1, in - 1));
    t.frac.push_back(src - static_cast<double>(i0));
  }
  return t;
}

}  // namespace

Tensor upsample_bilinear(const Tensor& x_in, int64_t out_h, int64_t out_w) {
  const char* op = "upsample_bilinear";
  check_defined(op, {x_in});
  check_dim(op, "input (N, C, H, W)", x_in, 4);
  check_floating(op, x_in);
  HATTN_CHECK(out_h > 0 && out_w > 0, op, ": output size ", out_h, "x", out_w, " must be positive");
  const int64_t N = x_in.size(0), C = x_in.size(1), H = x_in.size(2), W = x_in.size(3);
  HATTN_CHECK(H > 0 && W > 0, op, ": empty input ", describe(x_in));
  Tensor x = raw::contiguous(x_in);
  const Device dev = x.device();
  const bool f64 = x.dtype() == DType::F64;
  Taps th = taps(H, out_h), tw = taps(W, out_w);
  Tensor out = Tensor::empty({N, C, out_h, out_w}, x.dtype(), dev);
  if (dev.is_cuda())
    cuda::upsample_bilinear_forward(f64, x.raw_data(), out.raw_data(), N * C, H, W, out_h, out_w, dev.index);
  else
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    parallel_for(N * C, 1, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const T* src = x.data<T>() + p * H * W;
        T* dst = out.data<T>() + p * out_h * out_w;
        for (int64_t oh = 0; oh < out_h; ++oh) {
          const T fh = static_cast<T>(th.frac[oh]);
          const T* r0 = src + th.i0[oh] * W;
          const T* r1 = src + th.i1[oh] * W;
          for (int64_t ow = 0; ow < out_w; ++ow) {
            const T fw = static_cast<T>(tw.frac[ow]);
            const int64_t a = tw.i0[ow], b = tw.i1[ow];
            dst[oh * out_w + ow] = (T(1) - fh) * ((T(1) - fw) * r0[a] + fw * r0[b]) + fh * ((T(1) - fw) * r1[a] + fw * r1[b]);
          }
        }
      }
    });
  });
  if (needs_grad({x_in})) {
    record_op(OpName::UpsampleBilinear, {x_in}, out, [=](const Tensor& g_in) {
      Tensor g = raw::contiguous(g_in);
      if (dev.is_cuda()) {
        Tensor dx = Tensor::empty({N, C, H, W}, g.dtype(), dev);
        cuda::upsample_bilinear_backward(f64, g.raw_data(), dx.raw_data(), N * C, H, W, out_h, out_w, dev.index);
        return std::vector<Tensor>{dx};
      }
      Tensor dx = Tensor::zeros({N, C, H, W}, g.dtype());
      dispatch_floating(g.dtype(), op, [&](auto tag) {
        using T = decltype(tag);
        parallel_for(N * C, 1, [&](int64_t p0, int64_t p1) {
          for (int64_t p = p0; p < p1; ++p) {
            const T* gp = g.data<T>() + p * out_h * out_w;
            T* d = dx.data<T>() + p * H * W;
            for (int64_t oh = 0; oh < out_h; ++oh) {
              const T fh = static_cast<T>(th.frac[oh]);
              T* r0 = d + th.i0[oh] * W;
              T* r1 = d + th.i1[oh] * W;
              for (int64_t ow = 0; ow < out_w; ++ow) {
                const T fw = static_cast<T>(tw.frac[ow]), v = gp[oh * out_w + ow];
                const int64_t a = tw.i0[ow], b = tw.i1[ow];
                r0[a] += (T(1) - fh) * (T(1) - fw) * v;
                r0[b] += (T(1) - fh) * fw * v;
                r1[a] += fh * (T(1) - fw) * v;
                r1[b] += fh * fw * v;
              }
            }
          }
        });
      });
      return std::vector<Tensor>{dx};
    });
  }
  return out;
}

}  // namespace ha
