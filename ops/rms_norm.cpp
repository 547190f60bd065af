// RMSNorm over the last dim (Mamba's: no bias):  y = x r w,  r = 1/sqrt(mean(x^2) + eps).
// Backward per row, with gw = g w and D the row length:
//   dx = r gw - x r^3 (sum gw x) / D,   dw = sum over rows of g x r.
// dw is reduced over fixed blocks of rows then summed in block order (deterministic for any thread count).
#include <cmath>

#include "autograd/function_node.h"
#include "autograd/lrp.h"
#include "ops/cuda/rms_norm_cuda.h"
#include "ops/dispatch.h"
#include "ops/lrp_rules.h"
#include "ops/ops.h"
#include "tensor/parallel.h"

namespace ha {

static constexpr int64_t kRowBlock = 32;

Tensor rms_norm(const Tensor& x_in, const Tensor& w_in, double eps) {
  if (lrp_rules().constant_norms && needs_grad({x_in, w_in})) return lrp_rule::rms_norm(x_in, w_in, eps);
  const char* op = "rms_norm";
  check_defined(op, {x_in, w_in});
  HATTN_CHECK(x_in.device() == w_in.device(), op, ": inputs on different devices: ", describe(x_in), " and ",
              describe(w_in));
  check_same_dtype(op, x_in, w_in);
  check_floating(op, x_in);
  HATTN_CHECK(x_in.dim() >= 1, op, ": input must have at least one dim");
  const int64_t D = x_in.shape().back(), R = x_in.numel() / std::max<int64_t>(D, 1);
  check_shape(op, "weight", w_in, {D});
  Tensor x = raw::contiguous(x_in), w = raw::contiguous(w_in);
  const Device dev = x.device();
  const bool f64 = x.dtype() == DType::F64;
  Tensor out = Tensor::empty(x.shape(), x.dtype(), dev);
  Tensor rstd = Tensor::empty({R}, x.dtype(), dev);
  if (dev.is_cuda())
    cuda::rms_norm_forward(f64, x.raw_data(), w.raw_data(), out.raw_data(), rstd.raw_data(), R, D, eps, dev.index);
  else
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pw = w.data<T>();
    T* py = out.data<T>();
    T* pr = rstd.data<T>();
    parallel_for(R, 16, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const T* xr = px + r * D;
        double ss = 0;
        for (int64_t i = 0; i < D; ++i) ss += double(xr[i]) * xr[i];
        const T rs = static_cast<T>(1.0 / std::sqrt(ss / D + eps));
        pr[r] = rs;
        for (int64_t i = 0; i < D; ++i) py[r * D + i] = xr[i] * rs * pw[i];
      }
    });
  });
  if (needs_grad({x_in, w_in})) {
    bool gx = x_in.requires_grad(), gw = w_in.requires_grad();
    Tensor xs = saved(x), ws = saved(w), rs = rstd;
    record_op(OpName::RmsNorm, {x_in, w_in}, out, [=](const Tensor& g_in) {
      Tensor g = raw::contiguous(g_in);
      if (dev.is_cuda()) {
        Tensor dx = gx ? Tensor::empty(xs.shape(), g.dtype(), dev) : Tensor();
        Tensor dw = gw ? Tensor::empty({D}, g.dtype(), dev) : Tensor();
        cuda::rms_norm_backward(f64, g.raw_data(), xs.raw_data(), ws.raw_data(), rs.raw_data(),
                                gx ? dx.raw_data() : nullptr, gw ? dw.raw_data() : nullptr, R, D, dev.index);
        return std::vector<Tensor>{dx, dw};
      }
      Tensor dx = gx ? Tensor::empty(xs.shape(), g.dtype()) : Tensor();
      const int64_t blocks = (R + kRowBlock - 1) / kRowBlock;
      Tensor dw_part = gw ? Tensor::zeros({blocks, D}, g.dtype()) : Tensor();
      dispatch_floating(g.dtype(), op, [&](auto tag) {
        using T = decltype(tag);
        const T* px = xs.data<T>();
        const T* pw = ws.data<T>();
        const T* pr = rs.data<T>();
        const T* pg = g.data<T>();
        parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
          for (int64_t blk = b0; blk < b1; ++blk) {
            for (int64_t r = blk * kRowBlock; r < std::min(R, (blk + 1) * kRowBlock); ++r) {
              const T* xr = px + r * D;
              const T* gr = pg + r * D;
              const T rr = pr[r];
              if (gx) {
                double dot = 0;
                for (int64_t i = 0; i < D; ++i) dot += double(gr[i]) * pw[i] * xr[i];
                const T c = static_cast<T>(dot * rr * rr * rr / D);
                T* d = dx.data<T>() + r * D;
                for (int64_t i = 0; i < D; ++i) d[i] = rr * gr[i] * pw[i] - xr[i] * c;
              }
              if (gw) {
                T* dwp = dw_part.data<T>() + blk * D;
                for (int64_t i = 0; i < D; ++i) dwp[i] += gr[i] * xr[i] * rr;
              }
            }
          }
        });
      });
      Tensor dw = gw ? sum(dw_part, {0}) : Tensor();
      return std::vector<Tensor>{dx, dw};
    });
  }
  return out;
}

}  // namespace ha
