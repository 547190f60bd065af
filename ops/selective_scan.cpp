// The fused selective scan (Mamba's selective_scan_ref semantics), per batch b and channel e:
//   dt_t = softplus(delta_t + delta_bias)        (softplus optional; x itself above 20)
//   h_t  = exp(dt_t A) * h_{t-1} + dt_t B_t u_t  (N states; B_t, C_t shared by all channels)
//   y_t  = C_t . h_t + D u_t,   out_t = y_t * silu(z_t)
// `reverse` runs t from L-1 down to 0, so Vim's backward direction needs no flipped copies.
// Handwritten backward (cpu/selective_scan_cpu.cpp); selective_scan_composite is its oracle.
#include <type_traits>

#include "autograd/function_node.h"
#include "ops/cpu/selective_scan_cpu.h"
#include "ops/cuda/selective_scan_cuda.h"
#include "autograd/lrp.h"
#include "ops/dispatch.h"
#include "ops/lrp_rules.h"
#include "ops/ops.h"

namespace ha {
namespace {

struct Dims {
  int64_t B, E, L, N;
};

Dims validate(const ScanInputs& in, const char* op) {
  check_defined(op, {in.u, in.delta, in.A, in.Bm, in.Cm});
  for (const Tensor& t : {in.delta, in.A, in.Bm, in.Cm, in.D, in.z, in.delta_bias})
    HATTN_CHECK(!t.defined() || t.device() == in.u.device(), op, ": inputs on different devices: ", describe(in.u),
                " and ", describe(t));
  // any strides: the caller makes contiguous copies where needed (flipped and narrowed views are common)
  if (in.u.device().is_cuda())
    HATTN_CHECK(in.u.dtype() == DType::F32, op, ": the CUDA kernel takes float32, got ", describe(in.u));
  check_dim(op, "u (B, E, L)", in.u, 3);
  check_floating(op, in.u);
  Dims d{in.u.size(0), in.u.size(1), in.u.size(2), 0};
  check_dim(op, "A (E, N)", in.A, 2);
  d.N = in.A.size(1);
  check_shape(op, "delta", in.delta, {d.B, d.E, d.L});
  check_shape(op, "A", in.A, {d.E, d.N});
  check_shape(op, "B", in.Bm, {d.B, d.N, d.L});
  check_shape(op, "C", in.Cm, {d.B, d.N, d.L});
  if (in.D.defined()) check_shape(op, "D", in.D, {d.E});
  if (in.z.defined()) check_shape(op, "z", in.z, {d.B, d.E, d.L});
  if (in.delta_bias.defined()) check_shape(op, "delta_bias", in.delta_bias, {d.E});
  for (const Tensor& t : {in.delta, in.A, in.Bm, in.Cm, in.D, in.z, in.delta_bias})
    if (t.defined()) check_same_dtype(op, in.u, t);
  return d;
}

template <class T>
cpu::ScanArgs<T> args_of(const ScanInputs& c, const Dims& d) {
  auto p = [](const Tensor& t) -> const T* { return t.defined() ? t.data<T>() : nullptr; };
  return {d.B, d.E, d.L, d.N, p(c.u), p(c.delta), p(c.A), p(c.Bm), p(c.Cm), p(c.D), p(c.z), p(c.delta_bias),
          c.delta_softplus, c.reverse};
}

}  // namespace

Tensor selective_scan(const ScanInputs& in) {
  if (lrp_rules().constant_scan && needs_grad({in.u, in.delta, in.A, in.Bm, in.Cm, in.D, in.z, in.delta_bias}) &&
      (in.z.defined() || needs_grad({in.delta, in.A, in.Bm, in.Cm, in.delta_bias})))
    return lrp_rule::selective_scan(in);
  const char* op = "selective_scan";
  const Dims d = validate(in, op);
  auto cont = [](const Tensor& t) { return t.defined() ? raw::contiguous(t.detach()) : Tensor(); };
  ScanInputs c{cont(in.u), cont(in.delta), cont(in.A), cont(in.Bm), cont(in.Cm), cont(in.D), cont(in.z),
               cont(in.delta_bias), in.delta_softplus, in.reverse};
  const Device dev = in.u.device();
  Tensor out = Tensor::empty({d.B, d.E, d.L}, in.u.dtype(), dev);
  if (dev.is_cuda()) {
    cuda::selective_scan_forward(args_of<float>(c, d), out.data<float>(), dev.index);
  } else {
    dispatch_floating(in.u.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      cpu::selective_scan_forward<T>(args_of<T>(c, d), out.data<T>());
    });
  }
  std::vector<Tensor> inputs{in.u, in.delta, in.A, in.Bm, in.Cm, in.D, in.z, in.delta_bias};
  if (needs_grad(inputs)) {
    std::vector<bool> want;
    for (const Tensor& t : inputs) want.push_back(t.defined() && t.requires_grad());
    for (Tensor* t : {&c.u, &c.delta, &c.A, &c.Bm, &c.Cm, &c.D, &c.z, &c.delta_bias}) *t = saved(*t);
    record_op(OpName::SelectiveScan, inputs, out, [c, d, want, dev](const Tensor& g_in) {
      Tensor g = raw::contiguous(g_in);
      HATTN_CHECK(g.device() == dev, "selective_scan backward: gradient on ", g.device().name(), ", inputs on ", dev.name());
      auto grad_like = [&](int i, const Shape& s) { return want[i] ? Tensor::empty(s, g.dtype(), dev) : Tensor(); };
      std::vector<Tensor> grads{grad_like(0, {d.B, d.E, d.L}), grad_like(1, {d.B, d.E, d.L}),
                                grad_like(2, {d.E, d.N}),      grad_like(3, {d.B, d.N, d.L}),
                                grad_like(4, {d.B, d.N, d.L}), grad_like(5, {d.E}),
                                grad_like(6, {d.B, d.E, d.L}), grad_like(7, {d.E})};
      dispatch_floating(g.dtype(), "selective_scan backward", [&](auto tag) {
        using T = decltype(tag);
        auto p = [](const Tensor& t) -> T* { return t.defined() ? t.data<T>() : nullptr; };
        if constexpr (std::is_same_v<T, float>) {
          if (dev.is_cuda()) {
            cuda::selective_scan_backward(args_of<float>(c, d), g.data<float>(), p(grads[0]), p(grads[1]), p(grads[2]),
                                          p(grads[3]), p(grads[4]), p(grads[5]), p(grads[6]), p(grads[7]), dev.index);
            return;
          }
        }
        cpu::selective_scan_backward<T>(args_of<T>(c, d), g.data<T>(), p(grads[0]), p(grads[1]), p(grads[2]),
                                        p(grads[3]), p(grads[4]), p(grads[5]), p(grads[6]), p(grads[7]));
      });
      return grads;
    });
  }
  return out;
}

Tensor selective_scan_composite(const ScanInputs& in) {
  const Dims d = validate(in, "selective_scan_composite");
  Tensor dt = in.delta;
  if (in.delta_bias.defined()) dt = add(dt, in.delta_bias.reshape({d.E, 1}));
  if (in.delta_softplus) dt = softplus(dt);
  Tensor decay = exp(mul(dt.unsqueeze(-1), in.A.unsqueeze(1)));                 // (B, E, L, N)
  Tensor Bt = in.Bm.transpose(1, 2).unsqueeze(1), Ct = in.Cm.transpose(1, 2).unsqueeze(1);  // (B, 1, L, N)
  Tensor drive = mul(mul(dt, in.u).unsqueeze(-1), Bt);                           // (B, E, L, N)
  Tensor h = Tensor::zeros({d.B, d.E, d.N}, in.u.dtype(), in.u.device());
  std::vector<Tensor> ys(d.L);
  for (int64_t k = 0; k < d.L; ++k) {
    const int64_t t = in.reverse ? d.L - 1 - k : k;
    h = add(mul(decay.select(2, t), h), drive.select(2, t));
    ys[t] = sum(mul(h, Ct.select(2, t)), {-1});  // (B, E)
  }
  Tensor y = stack(ys, 2);
  if (in.D.defined()) y = add(y, mul(in.u, in.D.reshape({d.E, 1})));
  if (in.z.defined()) y = mul(y, silu(in.z));
  return y;
}

}  // namespace ha
