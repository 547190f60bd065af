// conv2d as im2col + GEMM, per image: out[n] (O, Ho*Wo) = W (O, C*kh*kw) cols[n] + b.
// Backward: dW = sum_n dY[n] cols[n]^T, dcols = W^T dY[n] folded back by col2im, db = sum of dY.
// The backward recomputes cols instead of saving them (they are kh*kw times the input's size).
#include "autograd/function_node.h"
#include "ops/cpu/gemm.h"
#include "ops/cuda/conv2d_cuda.h"
#include "ops/cuda/gemm_cuda.h"
#include "ops/dispatch.h"
#include "ops/ops.h"
#include "tensor/parallel.h"

namespace ha {
namespace {

struct ConvGeom {
  int64_t N, C, H, W, O, kh, kw, sh, sw, ph, pw, Ho, Wo;
  int64_t ckk() const { return C * kh * kw; }
  int64_t hw() const { return Ho * Wo; }
};

template <class T>
void im2col(const T* x, const ConvGeom& g, T* cols) {
  parallel_for(g.ckk(), 8, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t c = r / (g.kh * g.kw), i = (r / g.kw) % g.kh, j = r % g.kw;
      T* dst = cols + r * g.hw();
      for (int64_t oh = 0; oh < g.Ho; ++oh) {
        const int64_t h = oh * g.sh - g.ph + i;
        for (int64_t ow = 0; ow < g.Wo; ++ow) {
          const int64_t w = ow * g.sw - g.pw + j;
          dst[oh * g.Wo + ow] = (h >= 0 && h < g.H && w >= 0 && w < g.W) ? x[(c * g.H + h) * g.W + w] : T(0);
        }
      }
    }
  });
}

// Adds cols back into the image; rows of one channel touch only that channel, so channels run in parallel.
template <class T>
void col2im(const T* cols, const ConvGeom& g, T* dx) {
  parallel_for(g.C, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      for (int64_t i = 0; i < g.kh; ++i)
        for (int64_t j = 0; j < g.kw; ++j) {
          const T* src = cols + ((c * g.kh + i) * g.kw + j) * g.hw();
          for (int64_t oh = 0; oh < g.Ho; ++oh) {
            const int64_t h = oh * g.sh - g.ph + i;
            if (h < 0 || h >= g.H) continue;
            for (int64_t ow = 0; ow < g.Wo; ++ow) {
              const int64_t w = ow * g.sw - g.pw + j;
              if (w >= 0 && w < g.W) dx[(c * g.H + h) * g.W + w] += src[oh * g.Wo + ow];
            }
          }
        }
  });
}

cuda::ConvShape cuda_shape(const ConvGeom& g) { return {g.C, g.H, g.W, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.Ho, g.Wo}; }

// GPU forward: im2col of every image side by side, (C·kh·kw, N·Ho·Wo), one GEMM, then the bias.
Tensor conv2d_forward_cuda(const Tensor& x, const Tensor& w, const Tensor& b, const ConvGeom& g) {
  const Device dev = x.device();
  const bool f64 = x.dtype() == DType::F64;
  const int64_t es = static_cast<int64_t>(dtype_size(x.dtype())), cols_ld = g.N * g.hw();
  Tensor cols = Tensor::empty({g.ckk(), cols_ld}, x.dtype(), dev);
  for (int64_t n = 0; n < g.N; ++n)
    cuda::im2col(f64, static_cast<const char*>(x.raw_data()) + n * g.C * g.H * g.W * es, cuda_shape(g),
                 static_cast<char*>(cols.raw_data()) + n * g.hw() * es, cols_ld, dev.index);
  Tensor y = Tensor::empty({g.O, g.N, g.Ho, g.Wo}, x.dtype(), dev);  // (O, N·Ho·Wo)
  cuda::gemm(f64, g.O, cols_ld, g.ckk(), w.raw_data(), g.ckk(), 1, cols.raw_data(), cols_ld, 1, y.raw_data(), cols_ld,
             dev.index);
  NoGradGuard no_grad;
  Tensor out = y.permute({1, 0, 2, 3}).contiguous();
  return b.defined() ? add(out, b.reshape({1, g.O, 1, 1})) : out;
}

// GPU backward: dW = dY (O, N·Ho·Wo) · cols^T, dcols = W^T dY per image folded back by col2im, db = Σ dY.
std::vector<Tensor> conv2d_backward_cuda(const Tensor& dy_in, const Tensor& xs, const Tensor& ws, const ConvGeom& g,
                                         bool gx, bool gw, bool gb) {
  NoGradGuard no_grad;
  const Device dev = dy_in.device();
  const bool f64 = dy_in.dtype() == DType::F64;
  const int64_t es = static_cast<int64_t>(dtype_size(dy_in.dtype())), cols_ld = g.N * g.hw();
  Tensor dy = dy_in.contiguous();
  Tensor dx, dw, db = gb ? sum(dy, {0, 2, 3}) : Tensor();
  if (gw) {
    Tensor cols = Tensor::empty({g.ckk(), cols_ld}, dy.dtype(), dev);
    for (int64_t n = 0; n < g.N; ++n)
      cuda::im2col(f64, static_cast<const char*>(xs.raw_data()) + n * g.C * g.H * g.W * es, cuda_shape(g),
                   static_cast<char*>(cols.raw_data()) + n * g.hw() * es, cols_ld, dev.index);
    Tensor dyo = dy.permute({1, 0, 2, 3}).contiguous();  // (O, N·Ho·Wo)
    dw = Tensor::empty({g.O, g.C, g.kh, g.kw}, dy.dtype(), dev);
    cuda::gemm(f64, g.O, g.ckk(), cols_ld, dyo.raw_data(), cols_ld, 1, cols.raw_data(), 1, cols_ld, dw.raw_data(),
               g.ckk(), dev.index);
  }
  if (gx) {
    dx = Tensor::empty({g.N, g.C, g.H, g.W}, dy.dtype(), dev);
    Tensor dcols = Tensor::empty({g.ckk(), g.hw()}, dy.dtype(), dev);
    for (int64_t n = 0; n < g.N; ++n) {
      cuda::gemm(f64, g.ckk(), g.hw(), g.O, ws.raw_data(), 1, g.ckk(),
                 static_cast<const char*>(dy.raw_data()) + n * g.O * g.hw() * es, g.hw(), 1, dcols.raw_data(), g.hw(),
                 dev.index);
      cuda::col2im(f64, dcols.raw_data(), cuda_shape(g), static_cast<char*>(dx.raw_data()) + n * g.C * g.H * g.W * es,
                   dev.index);
    }
  }
  return {dx, dw, db};
}

}  // namespace

Tensor conv2d(const Tensor& x_in, const Tensor& w_in, const Tensor& b, std::pair<int64_t, int64_t> stride,
              std::pair<int64_t, int64_t> padding) {
  const char* op = "conv2d";
  check_defined(op, {x_in, w_in});
  for (const Tensor& t : {w_in, b})
    HATTN_CHECK(!t.defined() || t.device() == x_in.device(), op, ": inputs on different devices: ", describe(x_in),
                " and ", describe(t));
  check_dim(op, "input", x_in, 4);
  check_dim(op, "weight", w_in, 4);
  check_same_dtype(op, x_in, w_in);
  check_floating(op, x_in);
  ConvGeom g{x_in.size(0), x_in.size(1), x_in.size(2), x_in.size(3), w_in.size(0), w_in.size(2), w_in.size(3),
             stride.first, stride.second, padding.first, padding.second, 0, 0};
  HATTN_CHECK(w_in.size(1) == g.C, op, ": weight ", describe(w_in), " expects ", w_in.size(1),
              " input channels, input ", describe(x_in), " has ", g.C);
  HATTN_CHECK(g.sh > 0 && g.sw > 0 && g.ph >= 0 && g.pw >= 0, op, ": stride must be positive and padding >= 0");
  if (b.defined()) {
    check_same_dtype(op, x_in, b);
    check_shape(op, "bias", b, {g.O});
  }
  g.Ho = (g.H + 2 * g.ph - g.kh) / g.sh + 1;
  g.Wo = (g.W + 2 * g.pw - g.kw) / g.sw + 1;
  HATTN_CHECK(g.H + 2 * g.ph >= g.kh && g.W + 2 * g.pw >= g.kw, op, ": kernel ", describe(w_in),
              " is larger than the padded input ", describe(x_in));
  Tensor x = raw::contiguous(x_in), w = raw::contiguous(w_in);
  const bool on_cuda = x.device().is_cuda();
  Tensor out = on_cuda ? conv2d_forward_cuda(x, w, b.defined() ? raw::contiguous(b.detach()) : Tensor(), g)
                       : Tensor::empty({g.N, g.O, g.Ho, g.Wo}, x.dtype());
  if (!on_cuda)
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    std::vector<T> cols(g.ckk() * g.hw());
    Tensor bc = b.defined() ? raw::contiguous(b) : Tensor();
    for (int64_t n = 0; n < g.N; ++n) {
      im2col(x.data<T>() + n * g.C * g.H * g.W, g, cols.data());
      T* y = out.data<T>() + n * g.O * g.hw();
      if (bc.defined()) {
        for (int64_t o = 0; o < g.O; ++o) std::fill(y + o * g.hw(), y + (o + 1) * g.hw(), bc.data<T>()[o]);
      }
      cpu::gemm<T>(g.O, g.hw(), g.ckk(), T(1), w.data<T>(), g.ckk(), 1, cols.data(), g.hw(), 1,
                   bc.defined() ? T(1) : T(0), y, g.hw());
    }
  });
  if (needs_grad({x_in, w_in, b})) {
    bool gx = x_in.requires_grad(), gw = w_in.requires_grad(), gb = b.defined() && b.requires_grad();
    Tensor xs = gw ? saved(x) : Tensor(), ws = gx ? saved(w) : Tensor();
    record_op(OpName::Conv2d, {x_in, w_in, b}, out, [=](const Tensor& g_in) {
      if (on_cuda) return conv2d_backward_cuda(g_in, xs, ws, g, gx, gw, gb);
      Tensor dy = raw::contiguous(g_in);
      Tensor dx = gx ? Tensor::zeros({g.N, g.C, g.H, g.W}, dy.dtype()) : Tensor();
      Tensor dw = gw ? Tensor::zeros({g.O, g.C, g.kh, g.kw}, dy.dtype()) : Tensor();
      Tensor db = gb ? sum(dy, {0, 2, 3}) : Tensor();
      dispatch_floating(dy.dtype(), op, [&](auto tag) {
        using T = decltype(tag);
        std::vector<T> cols(g.ckk() * g.hw());
        for (int64_t n = 0; n < g.N; ++n) {
          const T* dyn = dy.data<T>() + n * g.O * g.hw();
          if (gw) {
            im2col(xs.data<T>() + n * g.C * g.H * g.W, g, cols.data());
            cpu::gemm<T>(g.O, g.ckk(), g.hw(), T(1), dyn, g.hw(), 1, cols.data(), 1, g.hw(), T(1), dw.data<T>(),
                         g.ckk());
          }
          if (gx) {
            cpu::gemm<T>(g.ckk(), g.hw(), g.O, T(1), ws.data<T>(), 1, g.ckk(), dyn, g.hw(), 1, T(0), cols.data(),
                         g.hw());
            col2im(cols.data(), g, dx.data<T>() + n * g.C * g.H * g.W);
          }
        }
      });
      return std::vector<Tensor>{dx, dw, db};
    });
  }
  return out;
}

}  // namespace ha
