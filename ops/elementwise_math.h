// The elementwise ops' math, defined once for the CPU kernels (ops/elementwise_unary.cpp, which adds float vector
// forms, and ops/elementwise_binary.cpp) and the CUDA kernels (ops/cuda/elementwise.cu).
// Unary: per op, y = f(x) and the derivative d(x, y) = f'(x) given y = f(x); p0, p1 are the op's parameters
// (pow's exponent, clamp's bounds); uses_x / uses_y say which of x, y the derivative reads (what the backward node
// keeps). Binary: per op, f(a, b) (the comparisons give 0 or 1; MaxShare / MinShare are a's share of the gradient of
// maximum / minimum: 1 where a wins, 1/2 on ties).
#pragma once
#include <cmath>

#include "ops/scalar_math.h"

namespace ha {

enum class Unary { Neg, Exp, Log, Sqrt, Rsqrt, Abs, Sigmoid, Silu, Softplus, Relu, Tanh, Gelu, Pow, Clamp };

template <Unary op>
struct UnaryMath;

#define HATTN_UNARY(OP, NAME, USES_X, USES_Y, F, D)                                         \
  template <>                                                                               \
  struct UnaryMath<Unary::OP> {                                                             \
    static constexpr const char* name = NAME;                                               \
    static constexpr bool uses_x = USES_X, uses_y = USES_Y;                                 \
    template <class T>                                                                      \
    HATTN_HOST_DEVICE static T f(T x, double p0, double p1) {                               \
      (void)p0, (void)p1;                                                                   \
      return F;                                                                             \
    }                                                                                       \
    template <class T>                                                                      \
    HATTN_HOST_DEVICE static T d(T x, T y, double p0, double p1) {                          \
      (void)x, (void)y, (void)p0, (void)p1;                                                 \
      return D;                                                                             \
    }                                                                                       \
  };

HATTN_UNARY(Neg, "neg", false, false, -x, T(-1))
HATTN_UNARY(Exp, "exp", false, true, std::exp(x), y)
HATTN_UNARY(Log, "log", true, false, std::log(x), T(1) / x)
HATTN_UNARY(Sqrt, "sqrt", false, true, std::sqrt(x), T(0.5) / y)
HATTN_UNARY(Rsqrt, "rsqrt", false, true, T(1) / std::sqrt(x), T(-0.5) * y * y * y)
HATTN_UNARY(Abs, "abs", true, false, std::abs(x), x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0)))
HATTN_UNARY(Sigmoid, "sigmoid", false, true, scalar::sigmoid(x), y * (T(1) - y))
HATTN_UNARY(Silu, "silu", true, false, x * scalar::sigmoid(x),
            scalar::sigmoid(x) * (T(1) + x * (T(1) - scalar::sigmoid(x))))
HATTN_UNARY(Softplus, "softplus", true, false, scalar::softplus(x), scalar::softplus_grad(x))
HATTN_UNARY(Relu, "relu", true, false, x > T(0) ? x : T(0), x > T(0) ? T(1) : T(0))
HATTN_UNARY(Tanh, "tanh", false, true, std::tanh(x), T(1) - y * y)
// Φ(x) + x φ(x); 1/√2 and 1/√(2π)
HATTN_UNARY(Gelu, "gelu", true, false, T(0.5) * x * (T(1) + std::erf(x * T(0.70710678118654752440))),
            T(0.5) * (T(1) + std::erf(x * T(0.70710678118654752440))) +
                x * (std::exp(T(-0.5) * x * x) * T(0.3989422804014327)))
HATTN_UNARY(Pow, "pow", true, false, std::pow(x, T(p0)), T(p0) * std::pow(x, T(p0 - 1)))
HATTN_UNARY(Clamp, "clamp", true, false, x < T(p0) ? T(p0) : (x > T(p1) ? T(p1) : x),
            (x >= T(p0) && x <= T(p1)) ? T(1) : T(0))

#undef HATTN_UNARY

enum class Binary { Add, Sub, Mul, Div, Max, Min, Gt, Lt, Eq, MaxShare, MinShare };

template <Binary op>
struct BinaryMath;

#define HATTN_BINARY(OP, F)                                \
  template <>                                              \
  struct BinaryMath<Binary::OP> {                          \
    template <class T>                                     \
    HATTN_HOST_DEVICE static T f(T a, T b) {               \
      return F;                                            \
    }                                                      \
  };

HATTN_BINARY(Add, a + b)
HATTN_BINARY(Sub, a - b)
HATTN_BINARY(Mul, a * b)
HATTN_BINARY(Div, a / b)
HATTN_BINARY(Max, a >= b ? a : b)
HATTN_BINARY(Min, a <= b ? a : b)
HATTN_BINARY(Gt, a > b ? T(1) : T(0))
HATTN_BINARY(Lt, a < b ? T(1) : T(0))
HATTN_BINARY(Eq, a == b ? T(1) : T(0))
HATTN_BINARY(MaxShare, a > b ? T(1) : (a == b ? T(0.5) : T(0)))
HATTN_BINARY(MinShare, a < b ? T(1) : (a == b ? T(0.5) : T(0)))

#undef HATTN_BINARY

}  // namespace ha
