// Elementwise binary ops with NumPy broadcasting. Backward reduces each gradient to its input's shape
// with sum_to (broadcasting's adjoint). Derivatives:
//   add (1, 1) | sub (1, -1) | mul (b, a) | div (1/b, -a/b^2) | maximum/minimum: the larger/smaller input,
//   half each on ties. Comparisons are not differentiable.
#include <array>

#include "autograd/function_node.h"
#include "ops/cuda/elementwise_cuda.h"
#include "autograd/lrp.h"
#include "ops/dispatch.h"
#include "ops/elementwise_math.h"
#include "ops/lrp_rules.h"
#include "ops/ops.h"
#include "tensor/parallel.h"
#include "tensor/strided_loop.h"

namespace ha {
namespace {

// The math is ops/elementwise_math.h, shared with the CUDA kernels.
template <Binary K>
struct BinaryOp {
  static constexpr Binary kind = K;
  template <class T> T operator()(T a, T b) const { return BinaryMath<K>::template f<T>(a, b); }
};
using AddF = BinaryOp<Binary::Add>;
using SubF = BinaryOp<Binary::Sub>;
using MulF = BinaryOp<Binary::Mul>;
using DivF = BinaryOp<Binary::Div>;
using MaxF = BinaryOp<Binary::Max>;
using MinF = BinaryOp<Binary::Min>;
using GtF = BinaryOp<Binary::Gt>;
using LtF = BinaryOp<Binary::Lt>;
using EqF = BinaryOp<Binary::Eq>;
using MaxShareF = BinaryOp<Binary::MaxShare>;
using MinShareF = BinaryOp<Binary::MinShare>;

template <class F>
Tensor binary_kernel(const char* op, const Tensor& a, const Tensor& b, F f) {
  check_defined(op, {a, b});
  check_same_dtype(op, a, b);
  check_floating(op, a);
  HATTN_CHECK(a.device() == b.device(), op, ": inputs on different devices: ", describe(a), " and ", describe(b));
  Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
  Tensor ea = raw::expand(a, shape, op), eb = raw::expand(b, shape, op);
  if (a.device().is_cuda()) {
    const cuda::Strided s = cuda::strided_of(shape, {&out.strides(), &ea.strides(), &eb.strides()});
    cuda::binary(F::kind, a.dtype() == DType::F64, ea.raw_data(), eb.raw_data(), out.raw_data(), s, a.device().index);
    return out;
  }
  dispatch_floating(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    T* y = out.data<T>();
    const T* pa = ea.data<T>();
    const T* pb = eb.data<T>();
    if (ea.is_contiguous() && eb.is_contiguous()) {
      parallel_for(out.numel(), 1 << 14, [&](int64_t s, int64_t e) {
        for (int64_t i = s; i < e; ++i) y[i] = f(pa[i], pb[i]);
      });
      return;
    }
    // Strided (broadcasts, views): the leading dims, as many as give the threads enough rows, are split across
    // threads; the rest run as strided_loop's merged runs, with unit- and zero-stride runs (a broadcast operand)
    // as plain loops the compiler vectorises.
    const int64_t nd = static_cast<int64_t>(shape.size());
    int64_t lead = 0, outer = 1;
    while (lead < nd - 1 && outer < 64) outer *= shape[lead++];
    const Shape inner(shape.begin() + lead, shape.end());
    const Shape so(out.strides().begin() + lead, out.strides().end());
    const Shape sa(ea.strides().begin() + lead, ea.strides().end());
    const Shape sb(eb.strides().begin() + lead, eb.strides().end());
    const int64_t per = std::max<int64_t>(1, numel_of(inner));
    parallel_for(outer, std::max<int64_t>(1, (1 << 14) / per), [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) {
        std::array<int64_t, 3> base{0, 0, 0};
        for (int64_t d = lead - 1, r = i; d >= 0; --d) {
          const int64_t k = r % shape[d];
          r /= shape[d];
          base[0] += k * out.strides()[d], base[1] += k * ea.strides()[d], base[2] += k * eb.strides()[d];
        }
        strided_loop<3>(inner, {&so, &sa, &sb}, base, [&](auto off, int64_t n, auto st) {
          T* __restrict yo = y + off[0];
          const T* __restrict ao = pa + off[1];
          const T* __restrict bo = pb + off[2];
          if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
            for (int64_t k = 0; k < n; ++k) yo[k] = f(ao[k], bo[k]);
          } else if (st[0] == 1 && st[1] == 1 && st[2] == 0) {
            const T bv = *bo;
            for (int64_t k = 0; k < n; ++k) yo[k] = f(ao[k], bv);
          } else if (st[0] == 1 && st[1] == 0 && st[2] == 1) {
            const T av = *ao;
            for (int64_t k = 0; k < n; ++k) yo[k] = f(av, bo[k]);
          } else {
            for (int64_t k = 0; k < n; ++k) yo[k * st[0]] = f(ao[k * st[1]], bo[k * st[2]]);
          }
        });
      }
    });
  });
  return out;
}

Tensor scalar_like(const Tensor& a, double v) {
  Tensor s = Tensor::scalar(v, a.defined() && is_floating(a.dtype()) ? a.dtype() : DType::F32);
  return a.defined() && a.device().is_cuda() ? raw::to_device(s, a.device()) : s;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel("add", a, b, AddF{});
  if (needs_grad({a, b})) {
    Shape sa = a.shape(), sb = b.shape();
    bool ga = a.requires_grad(), gb = b.requires_grad();
    record_op(OpName::Add, {a, b}, out, [=](const Tensor& g) {
      return std::vector<Tensor>{ga ? sum_to(g, sa) : Tensor(), gb ? sum_to(g, sb) : Tensor()};
    });
  }
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel("sub", a, b, SubF{});
  if (needs_grad({a, b})) {
    Shape sa = a.shape(), sb = b.shape();
    bool ga = a.requires_grad(), gb = b.requires_grad();
    record_op(OpName::Sub, {a, b}, out, [=](const Tensor& g) {
      return std::vector<Tensor>{ga ? sum_to(g, sa) : Tensor(), gb ? sum_to(neg(g), sb) : Tensor()};
    });
  }
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  if (lrp_rules().half_products && needs_grad({a}) && needs_grad({b})) return lrp_rule::half_product(a, b);
  Tensor out = binary_kernel("mul", a, b, MulF{});
  if (needs_grad({a, b})) {
    bool ga = a.requires_grad(), gb = b.requires_grad();
    Tensor as = gb ? saved(a) : Tensor(), bs = ga ? saved(b) : Tensor();
    Shape sa = a.shape(), sb = b.shape();
    record_op(OpName::Mul, {a, b}, out, [=](const Tensor& g) {
      return std::vector<Tensor>{ga ? sum_to(mul(g, bs), sa) : Tensor(), gb ? sum_to(mul(g, as), sb) : Tensor()};
    });
  }
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel("div", a, b, DivF{});
  if (needs_grad({a, b})) {
    bool ga = a.requires_grad(), gb = b.requires_grad();
    Tensor bs = saved(b), ys = gb ? saved(out) : Tensor();
    Shape sa = a.shape(), sb = b.shape();
    record_op(OpName::Div, {a, b}, out, [=](const Tensor& g) {
      Tensor g_over_b = div(g, bs);
      // d/db (a/b) = -a/b^2 = -(a/b)/b
      return std::vector<Tensor>{ga ? sum_to(g_over_b, sa) : Tensor(),
                                 gb ? sum_to(neg(mul(g_over_b, ys)), sb) : Tensor()};
    });
  }
  return out;
}

template <class F, class Share>
static Tensor extremum(OpName name, const Tensor& a, const Tensor& b, F f, Share share) {
  const char* op = op_name(name);
  Tensor out = binary_kernel(op, a, b, f);
  if (needs_grad({a, b})) {
    bool ga = a.requires_grad(), gb = b.requires_grad();
    Tensor as = saved(a), bs = saved(b);
    Shape sa = a.shape(), sb = b.shape();
    record_op(name, {a, b}, out, [=](const Tensor& g) {
      Tensor wa = binary_kernel(op, as, bs, share);
      Tensor wb = binary_kernel(op, bs, as, share);
      return std::vector<Tensor>{ga ? sum_to(mul(g, wa), sa) : Tensor(), gb ? sum_to(mul(g, wb), sb) : Tensor()};
    });
  }
  return out;
}

Tensor maximum(const Tensor& a, const Tensor& b) { return extremum(OpName::Maximum, a, b, MaxF{}, MaxShareF{}); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum(OpName::Minimum, a, b, MinF{}, MinShareF{}); }

Tensor greater(const Tensor& a, const Tensor& b) {
  check_not_differentiable("greater", {a, b});
  return binary_kernel("greater", a, b, GtF{});
}
Tensor less(const Tensor& a, const Tensor& b) {
  check_not_differentiable("less", {a, b});
  return binary_kernel("less", a, b, LtF{});
}
Tensor equal(const Tensor& a, const Tensor& b) {
  check_not_differentiable("equal", {a, b});
  return binary_kernel("equal", a, b, EqF{});
}

Tensor add(const Tensor& a, double b) { return add(a, scalar_like(a, b)); }
Tensor mul(const Tensor& a, double b) { return mul(a, scalar_like(a, b)); }

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& a) { return neg(a); }
Tensor operator+(const Tensor& a, double b) { return add(a, b); }
Tensor operator-(const Tensor& a, double b) { return add(a, -b); }
Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
Tensor operator/(const Tensor& a, double b) { return mul(a, 1.0 / b); }
Tensor operator*(double a, const Tensor& b) { return mul(b, a); }

}  // namespace ha
