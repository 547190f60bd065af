// concat and stack. concat's backward hands each input its slice of the gradient (a view, no copy).
#include "autograd/function_node.h"
#include "ops/dispatch.h"
#include "ops/ops.h"

namespace ha {

Tensor concat(const std::vector<Tensor>& xs, int64_t dim) {
  HATTN_CHECK(!xs.empty(), "concat: no tensors given");
  for (const Tensor& x : xs) check_defined("concat", {x});
  const Tensor& first = xs[0];
  const int64_t d = wrap_dim(dim, first.dim(), "concat");
  Shape oshape = first.shape();
  oshape[d] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    HATTN_CHECK(x.dtype() == first.dtype() && x.device() == first.device(), "concat: tensor ", i, " is ",
                describe(x), ", tensor 0 is ", describe(first));
    bool ok = x.dim() == first.dim();
    for (int64_t k = 0; ok && k < x.dim(); ++k) ok = k == d || x.shape()[k] == first.shape()[k];
    HATTN_CHECK(ok, "concat: tensor ", i, " ", describe(x), " does not match tensor 0 ", describe(first),
                " outside dim ", d);
    oshape[d] += x.shape()[d];
  }
  Tensor out = Tensor::empty(oshape, first.dtype(), first.device());
  std::vector<int64_t> starts;
  int64_t at = 0;
  for (const Tensor& x : xs) {
    starts.push_back(at);
    raw::narrow(out, d, at, x.shape()[d]).copy_(x);
    at += x.shape()[d];
  }
  if (needs_grad(xs)) {
    std::vector<int64_t> lengths;
    std::vector<bool> want;
    for (const Tensor& x : xs) {
      lengths.push_back(x.shape()[d]);
      want.push_back(x.requires_grad());
    }
    record_op(OpName::Concat, xs, out, [=](const Tensor& g) {
      std::vector<Tensor> grads(starts.size());
      for (size_t i = 0; i < starts.size(); ++i)
        if (want[i]) grads[i] = g.narrow(d, starts[i], lengths[i]);
      return grads;
    });
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
  HATTN_CHECK(!xs.empty(), "stack: no tensors given");
  const int64_t d = wrap_dim(dim, xs[0].dim() + 1, "stack");
  std::vector<Tensor> parts;
  for (size_t i = 0; i < xs.size(); ++i) {
    HATTN_CHECK(xs[i].defined() && xs[i].shape() == xs[0].shape(), "stack: tensor ", i, " ", describe(xs[i]),
                " differs from tensor 0 ", describe(xs[0]));
    parts.push_back(xs[i].unsqueeze(d));
  }
  return concat(parts, d);
}

}  // namespace ha
