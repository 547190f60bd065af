// Elementwise unary ops. The math of each (f and its derivative) is ops/elementwise_math.h, shared with the CUDA
// kernels; an op here is that math with its parameters. The transcendental ones the model runs on every token
// (exp, sigmoid, silu, softplus) also have float vector forms fv/dv (ops/cpu/vec.h), used on contiguous float32
// data and checked against libm in tests/test_vec_math.cpp.
#include <cmath>
#include <type_traits>
#include <utility>

#include "autograd/function_node.h"
#include "ops/cpu/vec.h"
#include "ops/cuda/elementwise_cuda.h"
#include "autograd/lrp.h"
#include "ops/dispatch.h"
#include "ops/lrp_rules.h"
#include "ops/ops.h"
#include "ops/elementwise_math.h"
#include "tensor/parallel.h"
#include "tensor/strided_loop.h"

namespace ha {
namespace {

template <Unary K>
struct ScalarOp {
  using Math = UnaryMath<K>;
  static constexpr Unary kind = K;
  static constexpr bool uses_x = Math::uses_x, uses_y = Math::uses_y;
  static constexpr const char* name = Math::name;
  static constexpr OpName op = static_cast<OpName>(static_cast<int>(K));  // the lists share their order
  double p0 = 0, p1 = 0;  // pow's exponent; clamp's bounds
  template <class T> T f(T x) const { return Math::template f<T>(x, p0, p1); }
  template <class T> T d(T x, T y) const { return Math::template d<T>(x, y, p0, p1); }
};

constexpr bool same_name(const char* a, const char* b) {
  while (*a && *a == *b) ++a, ++b;
  return *a == *b;
}
template <int... K>
constexpr bool unary_names_agree(std::integer_sequence<int, K...>) {
  return (same_name(op_name(static_cast<OpName>(K)), UnaryMath<static_cast<Unary>(K)>::name) && ...);
}
static_assert(unary_names_agree(std::make_integer_sequence<int, static_cast<int>(Unary::Clamp) + 1>{}),
              "autograd/op_names.h lists the unary ops first, in ops/elementwise_math.h's order");

using Neg = ScalarOp<Unary::Neg>;
using Log = ScalarOp<Unary::Log>;
using Sqrt = ScalarOp<Unary::Sqrt>;
using Rsqrt = ScalarOp<Unary::Rsqrt>;
using Abs = ScalarOp<Unary::Abs>;
using Relu = ScalarOp<Unary::Relu>;
using Tanh = ScalarOp<Unary::Tanh>;
using Gelu = ScalarOp<Unary::Gelu>;
using Pow = ScalarOp<Unary::Pow>;
using Clamp = ScalarOp<Unary::Clamp>;
struct Exp : ScalarOp<Unary::Exp> {
  cpu::VecF fv(cpu::VecF x) const { return cpu::vexp(x); }
  cpu::VecF dv(cpu::VecF, cpu::VecF y) const { return y; }
};
struct Sigmoid : ScalarOp<Unary::Sigmoid> {
  cpu::VecF fv(cpu::VecF x) const { return cpu::vsigmoid(x); }
  cpu::VecF dv(cpu::VecF, cpu::VecF y) const { return y * (1.f - y); }
};
struct Silu : ScalarOp<Unary::Silu> {
  cpu::VecF fv(cpu::VecF x) const { return x * cpu::vsigmoid(x); }
  cpu::VecF dv(cpu::VecF x, cpu::VecF) const {
    const cpu::VecF s = cpu::vsigmoid(x);
    return s * (1.f + x * (1.f - s));
  }
};
struct Softplus : ScalarOp<Unary::Softplus> {
  cpu::VecF fv(cpu::VecF x) const { return cpu::vsoftplus(x); }
  cpu::VecF dv(cpu::VecF x, cpu::VecF) const {
    return x > scalar::kSoftplusThreshold ? cpu::splat(1.f) : cpu::vsigmoid(x);
  }
};

constexpr int64_t kGrain = 1 << 14;

template <class Op, class = void>
struct HasVec : std::false_type {};
template <class Op>
struct HasVec<Op, std::void_t<decltype(std::declval<const Op&>().fv(cpu::VecF{}))>> : std::true_type {};

// y = f(x) and dx = g · d(x, y) over n contiguous floats with the vector forms; false (nothing done) for
// ops without them. Here Op is this function's own parameter, so the discarded branch is never checked.
template <class Op>
bool vector_forward(const Op& op, const float* x, float* y, int64_t n) {
  if constexpr (HasVec<Op>::value) {
    cpu::map_array(x, y, n, [&op](cpu::VecF v) { return op.fv(v); });
    return true;
  }
  return false;
}
template <class Op>
bool vector_backward(const Op& op, const float* g, const float* x, const float* y, float* dx, int64_t n) {
  if constexpr (HasVec<Op>::value) {
    static_assert(Op::uses_x != Op::uses_y, "a vector form reads exactly one of x, y");
    // that one fills both arguments of dv
    cpu::zip_array(g, Op::uses_x ? x : y, dx, n, [&op](cpu::VecF gv, cpu::VecF v) { return gv * op.dv(v, v); });
    return true;
  }
  return false;
}

template <class Op>
Tensor unary_forward(const Op& op, const Tensor& x) {
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), Op::name, [&](auto tag) {
    using T = decltype(tag);
    T* y = out.data<T>();
    const T* p = x.data<T>();
    if (x.is_contiguous()) {
      parallel_for(x.numel(), kGrain, [&](int64_t b, int64_t e) {
        if constexpr (std::is_same_v<T, float>)
          if (vector_forward(op, p + b, y + b, e - b)) return;
        for (int64_t i = b; i < e; ++i) y[i] = op.template f<T>(p[i]);
      });
      return;
    }
    Shape ost = out.strides();
    strided_loop<2>(x.shape(), {&ost, &x.strides()}, {0, 0}, [&](auto off, int64_t n, auto st) {
      for (int64_t i = 0; i < n; ++i) y[off[0] + i * st[0]] = op.template f<T>(p[off[1] + i * st[1]]);
    });
  });
  return out;
}

// dx = g * d(x, y); the node saved only what d reads (uses_x, uses_y), contiguous.
template <class Op>
Tensor unary_backward(const Op& op, const Tensor& x, const Tensor& y, const Tensor& g_in) {
  Tensor g = g_in.contiguous();
  Tensor dx = Tensor::empty(g.shape(), g.dtype());
  dispatch_floating(g.dtype(), Op::name, [&](auto tag) {
    using T = decltype(tag);
    const T* px = Op::uses_x ? x.data<T>() : nullptr;
    const T* py = Op::uses_y ? y.data<T>() : nullptr;
    const T* pg = g.data<T>();
    T* pd = dx.data<T>();
    parallel_for(g.numel(), kGrain, [&](int64_t b, int64_t e) {
      if constexpr (std::is_same_v<T, float>)
        if (vector_backward(op, pg + b, px ? px + b : nullptr, py ? py + b : nullptr, pd + b, e - b)) return;
      for (int64_t i = b; i < e; ++i)
        pd[i] = pg[i] * op.template d<T>(Op::uses_x ? px[i] : T(0), Op::uses_y ? py[i] : T(0));
    });
  });
  return dx;
}

template <class Op>
Tensor unary_forward_cuda(const Op& op, const Tensor& x_in) {
  Tensor x = raw::contiguous(x_in);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  cuda::unary_forward(Op::kind, x.dtype() == DType::F64, x.raw_data(), y.raw_data(), x.numel(), op.p0, op.p1,
                      x.device().index);
  return y;
}

template <class Op>
Tensor unary_backward_cuda(const Op& op, const Tensor& x, const Tensor& y, const Tensor& g_in) {
  Tensor g = raw::contiguous(g_in);
  Tensor dx = Tensor::empty(g.shape(), g.dtype(), g.device());
  cuda::unary_backward(Op::kind, g.dtype() == DType::F64, g.raw_data(), Op::uses_x ? x.raw_data() : nullptr,
                       Op::uses_y ? y.raw_data() : nullptr, dx.raw_data(), g.numel(), op.p0, op.p1,
                       g.device().index);
  return dx;
}

template <class Op>
Tensor unary(const Op& op, const Tensor& x_in) {
  check_defined(Op::name, {x_in});
  check_floating(Op::name, x_in);
  Tensor x = x_in.detach();
  const bool on_cuda = x.device().is_cuda();
  Tensor y = on_cuda ? unary_forward_cuda(op, x) : unary_forward(op, x);
  if (needs_grad({x_in})) {
    Tensor xs = Op::uses_x ? saved(raw::contiguous(x)) : Tensor();
    Tensor ys = Op::uses_y ? saved(y) : Tensor();
    record_op(Op::op, {x_in}, y, [op, xs, ys, on_cuda](const Tensor& g) {
      return std::vector<Tensor>{on_cuda ? unary_backward_cuda(op, xs, ys, g) : unary_backward(op, xs, ys, g)};
    });
  }
  return y;
}

}  // namespace

Tensor neg(const Tensor& x) { return unary(Neg{}, x); }
Tensor exp(const Tensor& x) { return unary(Exp{}, x); }
Tensor log(const Tensor& x) { return unary(Log{}, x); }
Tensor sqrt(const Tensor& x) { return unary(Sqrt{}, x); }
Tensor rsqrt(const Tensor& x) { return unary(Rsqrt{}, x); }
Tensor abs(const Tensor& x) { return unary(Abs{}, x); }
Tensor sigmoid(const Tensor& x) { return unary(Sigmoid{}, x); }
Tensor silu(const Tensor& x) {
  if (lrp_rules().silu_ratio && needs_grad({x})) return lrp_rule::silu(x);
  return unary(Silu{}, x);
}
Tensor softplus(const Tensor& x) { return unary(Softplus{}, x); }
Tensor relu(const Tensor& x) { return unary(Relu{}, x); }
Tensor tanh(const Tensor& x) { return unary(Tanh{}, x); }
Tensor gelu(const Tensor& x) { return unary(Gelu{}, x); }
Tensor pow(const Tensor& x, double exponent) { return unary(Pow{exponent, 0}, x); }
Tensor clamp(const Tensor& x, double lo, double hi) {
  HATTN_CHECK(lo <= hi, "clamp: lo ", lo, " > hi ", hi);
  return unary(Clamp{lo, hi}, x);
}

}  // namespace ha
