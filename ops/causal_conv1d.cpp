// Depthwise causal conv1d (Mamba's conv1d with padding K-1, keeping the first L outputs):
//   y[b,e,t] = bias[e] + sum_k w[e,k] x[b,e,t-(K-1)+k]    (w[e,K-1] multiplies x at t itself)
// Backward, per channel (channels are independent, so they run in parallel deterministically):
//   dx[b,e,s] = sum_k w[e,k] dy[b,e,s+(K-1)-k],  dw[e,k] = sum_{b,t} dy[b,e,t] x[b,e,t-(K-1)+k],  dbias[e] = sum dy.
#include <algorithm>

#include "autograd/function_node.h"
#include "ops/cuda/causal_conv1d_cuda.h"
#include "ops/dispatch.h"
#include "ops/ops.h"
#include "tensor/parallel.h"

namespace ha {

Tensor causal_conv1d(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in) {
  const char* op = "causal_conv1d";
  check_defined(op, {x_in, w_in});
  for (const Tensor& t : {w_in, b_in})
    HATTN_CHECK(!t.defined() || t.device() == x_in.device(), op, ": inputs on different devices: ", describe(x_in),
                " and ", describe(t));
  check_dim(op, "input (B, E, L)", x_in, 3);
  check_dim(op, "weight (E, K)", w_in, 2);
  check_same_dtype(op, x_in, w_in);
  check_floating(op, x_in);
  const int64_t B = x_in.size(0), E = x_in.size(1), L = x_in.size(2), K = w_in.size(1);
  HATTN_CHECK(w_in.size(0) == E, op, ": weight ", describe(w_in), " has ", w_in.size(0), " channels, input ",
              describe(x_in), " has ", E);
  if (b_in.defined()) {
    check_same_dtype(op, x_in, b_in);
    check_shape(op, "bias", b_in, {E});
  }
  Tensor x = raw::contiguous(x_in), w = raw::contiguous(w_in);
  Tensor bias = b_in.defined() ? raw::contiguous(b_in) : Tensor();
  const Device dev = x.device();
  const bool f64 = x.dtype() == DType::F64;
  Tensor out = Tensor::empty({B, E, L}, x.dtype(), dev);
  if (dev.is_cuda())
    cuda::causal_conv1d_forward(f64, x.raw_data(), w.raw_data(), bias.defined() ? bias.raw_data() : nullptr,
                                out.raw_data(), B, E, L, K, dev.index);
  else
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pw = w.data<T>();
    const T* pb = bias.defined() ? bias.data<T>() : nullptr;
    T* py = out.data<T>();
    parallel_for(B * E, 16, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t e = r % E;
        const T* xr = px + r * L;
        const T* we = pw + e * K;
        T* yr = py + r * L;
        // one axpy per tap over the outputs whose input index t - (K-1) + k is in range (vectorises)
        std::fill(yr, yr + L, pb ? pb[e] : T(0));
        for (int64_t k = 0; k < K; ++k) {
          const int64_t shift = K - 1 - k;
          const T w = we[k];
          for (int64_t t = shift; t < L; ++t) yr[t] += w * xr[t - shift];
        }
      }
    });
  });
  if (needs_grad({x_in, w_in, b_in})) {
    bool gx = x_in.requires_grad(), gw = w_in.requires_grad(), gb = bias.defined() && b_in.requires_grad();
    Tensor xs = gw ? saved(x) : Tensor(), ws = saved(w);
    record_op(OpName::CausalConv1d, {x_in, w_in, b_in}, out, [=](const Tensor& g_in) {
      Tensor dy = raw::contiguous(g_in);
      if (dev.is_cuda()) {
        Tensor dx = gx ? Tensor::empty({B, E, L}, dy.dtype(), dev) : Tensor();
        Tensor dw = gw ? Tensor::empty({E, K}, dy.dtype(), dev) : Tensor();
        Tensor db = gb ? Tensor::empty({E}, dy.dtype(), dev) : Tensor();
        cuda::causal_conv1d_backward(f64, dy.raw_data(), gw ? xs.raw_data() : nullptr, ws.raw_data(),
                                     gx ? dx.raw_data() : nullptr, gw ? dw.raw_data() : nullptr,
                                     gb ? db.raw_data() : nullptr, B, E, L, K, dev.index);
        return std::vector<Tensor>{dx, dw, db};
      }
      Tensor dx = gx ? Tensor::empty({B, E, L}, dy.dtype()) : Tensor();
      Tensor dw = gw ? Tensor::zeros({E, K}, dy.dtype()) : Tensor();
      Tensor db = gb ? Tensor::zeros({E}, dy.dtype()) : Tensor();
      dispatch_floating(dy.dtype(), op, [&](auto tag) {
        using T = decltype(tag);
        const T* pdy = dy.data<T>();
        const T* pw = ws.data<T>();
        parallel_for(E, 4, [&](int64_t e0, int64_t e1) {
          for (int64_t e = e0; e < e1; ++e) {
            const T* we = pw + e * K;
            for (int64_t b = 0; b < B; ++b) {
              const T* g = pdy + (b * E + e) * L;
              if (gx) {
                T* d = dx.data<T>() + (b * E + e) * L;
                std::fill(d, d + L, T(0));
                for (int64_t k = 0; k < K; ++k) {
                  const int64_t shift = K - 1 - k;
                  const T w = we[k];
                  for (int64_t s = 0; s + shift < L; ++s) d[s] += w * g[s + shift];
                }
              }
              if (gw) {
                const T* xr = xs.data<T>() + (b * E + e) * L;
                T* dwe = dw.data<T>() + e * K;
                for (int64_t k = 0; k < K; ++k) {
                  T acc = 0;
                  for (int64_t t = 0; t < L; ++t) {
                    const int64_t s = t - (K - 1) + k;
                    if (s >= 0) acc += g[t] * xr[s];
                  }
                  dwe[k] += acc;
                }
              }
              if (gb) {
                T acc = 0;
                for (int64_t t = 0; t < L; ++t) acc += g[t];
                db.data<T>()[e] += acc;
              }
            }
          }
        });
      });
      return std::vector<Tensor>{dx, dw, db};
    });
  }
  return out;
}

}  // namespace ha
