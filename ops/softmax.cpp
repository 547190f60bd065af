// softmax and log_softmax along one dim (moved innermost, then restored), and cross_entropy.
//   softmax:     dx = y (g - sum(g y))
//   log_softmax: dx = g - exp(y) sum(g)
// cross_entropy is composite: -mean_b log_softmax(logits)[b, target_b], so its gradient comes from the parts.
#include <cmath>

#include "autograd/function_node.h"
#include "ops/cuda/softmax_cuda.h"
#include "ops/dispatch.h"
#include "ops/ops.h"
#include "tensor/parallel.h"

namespace ha {
namespace {

// Row-wise kernel over x with `dim` moved last; returns the result in x's layout.
template <class F>
Tensor along_dim(const Tensor& x, int64_t dim, const char* op, F rowfn) {
  const int64_t d = wrap_dim(dim, x.dim(), op);
  Shape perm;
  for (int64_t i = 0; i < x.dim(); ++i)
    if (i != d) perm.push_back(i);
  perm.push_back(d);
  Shape inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inverse[perm[i]] = static_cast<int64_t>(i);
  Tensor rows = raw::contiguous(raw::permute(x, perm));
  Tensor out = Tensor::empty(rows.shape(), x.dtype(), x.device());
  const int64_t D = x.shape()[d], R = D ? rows.numel() / D : 0;
  if (x.device().is_cuda()) {
    rowfn.cuda(x.dtype() == DType::F64, rows.raw_data(), out.raw_data(), R, D, x.device().index);
    return raw::contiguous(raw::permute(out, inverse));
  }
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* p = rows.data<T>();
    T* y = out.data<T>();
    parallel_for(R, 16, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) rowfn(p + r * D, y + r * D, D);
    });
  });
  return raw::contiguous(raw::permute(out, inverse));
}

struct SoftmaxRow {
  bool log;
  void cuda(bool f64, const void* x, void* y, int64_t R, int64_t D, int device) const {
    cuda::softmax_rows(f64, log, x, y, R, D, device);
  }
  template <class T>
  void operator()(const T* x, T* y, int64_t D) const {
    T m = x[0];
    for (int64_t i = 1; i < D; ++i) m = x[i] > m ? x[i] : m;
    double s = 0;
    for (int64_t i = 0; i < D; ++i) s += std::exp(double(x[i] - m));
    if (log) {
      const T lse = static_cast<T>(std::log(s)) + m;
      for (int64_t i = 0; i < D; ++i) y[i] = x[i] - lse;
    } else {
      for (int64_t i = 0; i < D; ++i) y[i] = static_cast<T>(std::exp(double(x[i] - m)) / s);
    }
  }
};

Tensor softmax_impl(const Tensor& x, int64_t dim, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  check_defined(op, {x});
  check_floating(op, x);
  Tensor y = along_dim(x, dim, op, SoftmaxRow{log});
  if (needs_grad({x})) {
    Tensor ys = saved(y);
    record_op(log ? OpName::LogSoftmax : OpName::Softmax, {x}, y, [ys, dim, log](const Tensor& g) {
      if (log) return std::vector<Tensor>{sub(g, mul(exp(ys), sum(g, {dim}, true)))};
      return std::vector<Tensor>{mul(ys, sub(g, sum(mul(g, ys), {dim}, true)))};
    });
  }
  return y;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, true); }

Tensor cross_entropy(const Tensor& logits, const Tensor& target, double smoothing) {
  check_defined("cross_entropy", {logits, target});
  check_dim("cross_entropy", "logits (B, C)", logits, 2);
  HATTN_CHECK(target.dtype() == DType::I64 && target.shape() == Shape{logits.size(0)}, "cross_entropy: target ",
              describe(target), " must be int64 of shape (", logits.size(0), ") for logits ", describe(logits));
  Tensor t = raw::contiguous(target.to(Device::cpu()));
  for (int64_t i = 0; i < t.numel(); ++i) {
    int64_t c = t.data<int64_t>()[i];
    HATTN_CHECK(c >= 0 && c < logits.size(1), "cross_entropy: target[", i, "] = ", c, " out of range [0, ",
                logits.size(1), ") for logits ", describe(logits));
  }
  HATTN_CHECK(smoothing >= 0 && smoothing < 1, "cross_entropy: smoothing ", smoothing, " outside [0, 1)");
  Tensor logp = log_softmax(logits, 1);
  const Tensor nll = neg(mean(gather(logp, 1, raw::reshape(t, {-1, 1}))));  // either device
  if (smoothing == 0) return nll;
  return add(mul(nll, 1 - smoothing), mul(neg(mean(logp)), smoothing));
}

}  // namespace ha
