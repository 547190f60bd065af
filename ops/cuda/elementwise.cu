// CUDA elementwise ops (see elementwise_cuda.h). The math is ops/elementwise_math.h, the CPU's own; one kernel per
// op kind, chosen on the host.
#include "ops/cuda/elementwise_cuda.h"
#include "ops/elementwise_math.h"
#include "tensor/cuda/kernel_common.h"

namespace ha::cuda {
namespace {

template <Unary op, class T>
__global__ void __launch_bounds__(kThreads) unary_forward_kernel(const T* x, T* y, int64_t n, double p0, double p1) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i < n) y[i] = UnaryMath<op>::template f<T>(x[i], p0, p1);
}

template <Unary op, class T>
__global__ void __launch_bounds__(kThreads) unary_backward_kernel(const T* g, const T* x, const T* y, T* dx, int64_t n, double p0, double p1) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i < n) dx[i] = g[i] * UnaryMath<op>::template d<T>(x ? x[i] : T(0), y ? y[i] : T(0), p0, p1);
}

template <Binary op, class T>
__global__ void __launch_bounds__(kThreads) binary_kernel(const T* a, const T* b, T* out, Strided s, int64_t n) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  int64_t off[3];
  offsets_of<3>(s, i, 0, off);
  out[off[0]] = BinaryMath<op>::template f<T>(a[off[1]], b[off[2]]);
}

template <Unary op>
void launch_unary(bool f64, const void* x, void* y, int64_t n, double p0, double p1) {
  with_float(f64, [&](auto t) {
    using T = decltype(t);
    HATTN_LAUNCH(blocks_for(n), kThreads, 0, unary_forward_kernel<op, T>)(as<T>(x), as<T>(y), n, p0, p1);
  });
}

template <Unary op>
void launch_unary_backward(bool f64, const void* g, const void* x, const void* y, void* dx, int64_t n, double p0,
                           double p1) {
  with_float(f64, [&](auto t) {
    using T = decltype(t);
    HATTN_LAUNCH(blocks_for(n), kThreads, 0, unary_backward_kernel<op, T>)(as<T>(g), as<T>(x), as<T>(y), as<T>(dx), n, p0, p1);
  });
}

template <Binary op>
void launch_binary(bool f64, const void* a, const void* b, void* out, const Strided& s) {
  const int64_t n = element_count(s);
  with_float(f64, [&](auto t) {
    using T = decltype(t);
    HATTN_LAUNCH(blocks_for(n), kThreads, 0, binary_kernel<op, T>)(as<T>(a), as<T>(b), as<T>(out), s, n);
  });
}

// Calls f.template operator()<kind>() for the runtime kind (one instantiation per kind).
template <class F>
void with_unary(Unary op, F&& f) {
  switch (op) {
    case Unary::Neg: return f.template operator()<Unary::Neg>();
    case Unary::Exp: return f.template operator()<Unary::Exp>();
    case Unary::Log: return f.template operator()<Unary::Log>();
    case Unary::Sqrt: return f.template operator()<Unary::Sqrt>();
    case Unary::Rsqrt: return f.template operator()<Unary::Rsqrt>();
    case Unary::Abs: return f.template operator()<Unary::Abs>();
    case Unary::Sigmoid: return f.template operator()<Unary::Sigmoid>();
    case Unary::Silu: return f.template operator()<Unary::Silu>();
    case Unary::Softplus: return f.template operator()<Unary::Softplus>();
    case Unary::Relu: return f.template operator()<Unary::Relu>();
    case Unary::Tanh: return f.template operator()<Unary::Tanh>();
    case Unary::Gelu: return f.template operator()<Unary::Gelu>();
    case Unary::Pow: return f.template operator()<Unary::Pow>();
    case Unary::Clamp: return f.template operator()<Unary::Clamp>();
  }
}

struct UnaryForward {
  bool f64;
  const void* x;
  void* y;
  int64_t n;
  double p0, p1;
  template <Unary op>
  void operator()() const { launch_unary<op>(f64, x, y, n, p0, p1); }
};

struct UnaryBackward {
  bool f64;
  const void *g, *x, *y;
  void* dx;
  int64_t n;
  double p0, p1;
  template <Unary op>
  void operator()() const { launch_unary_backward<op>(f64, g, x, y, dx, n, p0, p1); }
};

}  // namespace

void unary_forward(Unary op, bool f64, const void* x, void* y, int64_t n, double p0, double p1, int device) {
  if (n == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_unary(op, UnaryForward{f64, x, y, n, p0, p1});
  HATTN_CUDA_CHECK(cudaGetLastError());
}

void unary_backward(Unary op, bool f64, const void* g, const void* x, const void* y, void* dx, int64_t n, double p0,
                    double p1, int device) {
  if (n == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_unary(op, UnaryBackward{f64, g, x, y, dx, n, p0, p1});
  HATTN_CUDA_CHECK(cudaGetLastError());
}

void binary(Binary op, bool f64, const void* a, const void* b, void* out, const Strided& s, int device) {
  if (element_count(s) == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  switch (op) {
    case Binary::Add: launch_binary<Binary::Add>(f64, a, b, out, s); break;
    case Binary::Sub: launch_binary<Binary::Sub>(f64, a, b, out, s); break;
    case Binary::Mul: launch_binary<Binary::Mul>(f64, a, b, out, s); break;
    case Binary::Div: launch_binary<Binary::Div>(f64, a, b, out, s); break;
    case Binary::Max: launch_binary<Binary::Max>(f64, a, b, out, s); break;
    case Binary::Min: launch_binary<Binary::Min>(f64, a, b, out, s); break;
    case Binary::Gt: launch_binary<Binary::Gt>(f64, a, b, out, s); break;
    case Binary::Lt: launch_binary<Binary::Lt>(f64, a, b, out, s); break;
    case Binary::Eq: launch_binary<Binary::Eq>(f64, a, b, out, s); break;
    case Binary::MaxShare: launch_binary<Binary::MaxShare>(f64, a, b, out, s); break;
    case Binary::MinShare: launch_binary<Binary::MinShare>(f64, a, b, out, s); break;
  }
  HATTN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ha::cuda
