// The LRP rules (autograd/lrp.h), one entry per op. Each computes the plain op's forward with no graph (so the
// values are the plain model's) and records its rule's backward, built from ops (so it runs on every device).
#include "ops/lrp_rules.h"

#include "autograd/function_node.h"
#include "autograd/grad_mode.h"

namespace ha::lrp_rule {

Tensor stabilize(const Tensor& x) {
  // sign(x) + [x = 0] is +1 for x >= 0 and -1 below: x + (1 - 2·[x < 0])·1e-6
  const Tensor below = less(x, Tensor::zeros({}, x.dtype(), x.device()));
  return add(x, mul(add(mul(below, -2.0), 1.0), 1e-6));
}

Tensor rms_norm(const Tensor& x, const Tensor& w, double eps) {
  Tensor out;
  {
    NoGradGuard no_graph;
    out = ha::rms_norm(x, w, eps);
  }
  const bool gx = x.requires_grad(), gw = w.requires_grad();
  const Tensor xs = saved(x), ws = saved(w);
  record_op(OpName::RmsNormLrp, {x, w}, out, [=](const Tensor& g) {
    // the constant r per row, in double as the forward kernel accumulates it
    const Tensor r = rsqrt(add(mean(mul(xs.to(DType::F64), xs.to(DType::F64)), {xs.dim() - 1}, true), eps)).to(xs.dtype());
    const Tensor gr = mul(g, r);
    return std::vector<Tensor>{gx ? mul(gr, ws) : Tensor(), gw ? sum_to(mul(gr, xs), ws.shape()) : Tensor()};
  });
  return out;
}

Tensor silu(const Tensor& x) {
  Tensor y;
  {
    NoGradGuard no_graph;
    y = ha::silu(x);
  }
  const Tensor xs = saved(x), ys = saved(y);
  record_op(OpName::SiluLrp, {x}, y, [=](const Tensor& g) { return std::vector<Tensor>{mul(g, div(ys, stabilize(xs)))}; });
  return y;
}

Tensor half_product(const Tensor& a, const Tensor& b) {
  Tensor out;
  {
    NoGradGuard no_graph;
    out = ha::mul(a, b);
  }
  const Tensor as = saved(a), bs = saved(b);
  const Shape sa = a.shape(), sb = b.shape();
  record_op(OpName::MulLrpHalf, {a, b}, out, [=](const Tensor& g) {
    const Tensor half = mul(g, 0.5);
    return std::vector<Tensor>{sum_to(mul(half, bs), sa), sum_to(mul(half, as), sb)};
  });
  return out;
}

Tensor selective_scan(const ScanInputs& in) {
  // the scan of u with its coefficients held constant (the plain op: only u and D carry gradients now), then the
  // gate under the silu and product rules
  ScanInputs c = in;
  for (Tensor* t : {&c.delta, &c.A, &c.Bm, &c.Cm, &c.delta_bias})
    if (t->defined()) *t = t->detach();
  c.z = Tensor();
  const Tensor y = ha::selective_scan(c);
  return in.z.defined() ? mul(y, ha::silu(in.z)) : y;
}

Tensor ssd_chunked(const SsdInputs& in) {
  SsdInputs c = in;
  for (Tensor* t : {&c.delta, &c.A, &c.Bm, &c.Cm}) *t = t->detach();
  return ha::ssd_chunked(c);
}

}  // namespace ha::lrp_rule
