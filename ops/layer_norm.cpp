// LayerNorm over the last dim:  y = xhat w + b,  xhat = (x - mean) r,  r = 1/sqrt(var + eps) (biased var).
// Backward per row, with gh = g w:  dx = r (gh - mean(gh) - xhat mean(gh xhat)),  dw = sum g xhat,  db = sum g.
// dw, db are reduced over fixed row blocks, then in block order (deterministic).
#include <cmath>

#include "autograd/function_node.h"
#include "ops/cuda/layer_norm_cuda.h"
#include "ops/dispatch.h"
#include "ops/ops.h"
#include "tensor/parallel.h"

namespace ha {

static constexpr int64_t kRowBlock = 32;

Tensor layer_norm(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, double eps) {
  const char* op = "layer_norm";
  check_defined(op, {x_in, w_in, b_in});
  for (const Tensor& t : {w_in, b_in})
    HATTN_CHECK(t.device() == x_in.device(), op, ": inputs on different devices: ", describe(x_in), " and ",
                describe(t));
  check_same_dtype(op, x_in, w_in);
  check_same_dtype(op, x_in, b_in);
  check_floating(op, x_in);
  HATTN_CHECK(x_in.dim() >= 1, op, ": input must have at least one dim");
  const int64_t D = x_in.shape().back(), R = x_in.numel() / std::max<int64_t>(D, 1);
  check_shape(op, "weight", w_in, {D});
  check_shape(op, "bias", b_in, {D});
  Tensor x = raw::contiguous(x_in), w = raw::contiguous(w_in), b = raw::contiguous(b_in);
  const Device dev = x.device();
  const bool f64 = x.dtype() == DType::F64;
  Tensor out = Tensor::empty(x.shape(), x.dtype(), dev);
  Tensor xhat = Tensor::empty(x.shape(), x.dtype(), dev);
  Tensor rstd = Tensor::empty({R}, x.dtype(), dev);
  if (dev.is_cuda())
    cuda::layer_norm_forward(f64, x.raw_data(), w.raw_data(), b.raw_data(), out.raw_data(), xhat.raw_data(),
                             rstd.raw_data(), R, D, eps, dev.index);
  else
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pw = w.data<T>();
    const T* pb = b.data<T>();
    T* py = out.data<T>();
    T* ph = xhat.data<T>();
    parallel_for(R, 16, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const T* xr = px + r * D;
        double m = 0, v = 0;
        for (int64_t i = 0; i < D; ++i) m += xr[i];
        m /= D;
        for (int64_t i = 0; i < D; ++i) v += (xr[i] - m) * (xr[i] - m);
        const double rs = 1.0 / std::sqrt(v / D + eps);
        rstd.data<T>()[r] = static_cast<T>(rs);
        for (int64_t i = 0; i < D; ++i) {
          ph[r * D + i] = static_cast<T>((xr[i] - m) * rs);
          py[r * D + i] = ph[r * D + i] * pw[i] + pb[i];
        }
      }
    });
  });
  if (needs_grad({x_in, w_in, b_in})) {
    bool gx = x_in.requires_grad(), gw = w_in.requires_grad(), gb = b_in.requires_grad();
    Tensor ws = saved(w);
    record_op(OpName::LayerNorm, {x_in, w_in, b_in}, out, [=](const Tensor& g_in) {
      Tensor g = raw::contiguous(g_in);
      if (dev.is_cuda()) {
        Tensor dx = gx ? Tensor::empty(xhat.shape(), g.dtype(), dev) : Tensor();
        Tensor dw = gw ? Tensor::empty({D}, g.dtype(), dev) : Tensor(), db = gb ? Tensor::empty({D}, g.dtype(), dev) : Tensor();
        cuda::layer_norm_backward(f64, g.raw_data(), xhat.raw_data(), ws.raw_data(), rstd.raw_data(),
                                  gx ? dx.raw_data() : nullptr, gw ? dw.raw_data() : nullptr,
                                  gb ? db.raw_data() : nullptr, R, D, dev.index);
        return std::vector<Tensor>{dx, dw, db};
      }
      Tensor dx = gx ? Tensor::empty(xhat.shape(), g.dtype()) : Tensor();
      const int64_t blocks = (R + kRowBlock - 1) / kRowBlock;
      Tensor dw_part = Tensor::zeros({blocks, D}, g.dtype()), db_part = Tensor::zeros({blocks, D}, g.dtype());
      dispatch_floating(g.dtype(), op, [&](auto tag) {
        using T = decltype(tag);
        const T* ph = xhat.data<T>();
        const T* pw = ws.data<T>();
        const T* pr = rstd.data<T>();
        const T* pg = g.data<T>();
        parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
          for (int64_t blk = b0; blk < b1; ++blk) {
            T* dwp = dw_part.data<T>() + blk * D;
            T* dbp = db_part.data<T>() + blk * D;
            for (int64_t r = blk * kRowBlock; r < std::min(R, (blk + 1) * kRowBlock); ++r) {
              const T* hr = ph + r * D;
              const T* gr = pg + r * D;
              if (gx) {
                double s1 = 0, s2 = 0;
                for (int64_t i = 0; i < D; ++i) {
                  s1 += double(gr[i]) * pw[i];
                  s2 += double(gr[i]) * pw[i] * hr[i];
                }
                const T m1 = static_cast<T>(s1 / D), m2 = static_cast<T>(s2 / D);
                T* d = dx.data<T>() + r * D;
                for (int64_t i = 0; i < D; ++i) d[i] = pr[r] * (gr[i] * pw[i] - m1 - hr[i] * m2);
              }
              for (int64_t i = 0; i < D; ++i) {
                dwp[i] += gr[i] * hr[i];
                dbp[i] += gr[i];
              }
            }
          }
        });
      });
      return std::vector<Tensor>{dx, gw ? sum(dw_part, {0}) : Tensor(), gb ? sum(db_part, {0}) : Tensor()};
    });
  }
  return out;
}

}  // namespace ha
