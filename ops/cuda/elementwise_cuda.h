// CUDA kernels of the elementwise ops of ops/elementwise_unary.cpp and ops/elementwise_binary.cpp (float32 and
// float64, device pointers). Unary ops read and write contiguous buffers; binary ops broadcast through strides
// (a stride of 0 repeats) into a contiguous output.
#pragma once
#include <cstdint>

#include "ops/elementwise_math.h"
#include "tensor/cuda/entry.h"
#include "tensor/cuda/strided.h"

namespace ha::cuda {

using ::ha::Binary;  // ops/elementwise_math.h
using ::ha::Unary;

// y = f(x); p0, p1 are the parameters of pow (exponent) and clamp (lo, hi).
HATTN_CUDA_ENTRY(void unary_forward(Unary op, bool f64, const void* x, void* y, int64_t n, double p0, double p1,
                                    int device));
// dx = g · f'(x, y); x or y may be null when the derivative does not read it.
HATTN_CUDA_ENTRY(void unary_backward(Unary op, bool f64, const void* g, const void* x, const void* y, void* dx,
                                     int64_t n, double p0, double p1, int device));
// out (contiguous, strides in s.stride[0]) = f(a, b), a and b at s.stride[1] and s.stride[2].
HATTN_CUDA_ENTRY(void binary(Binary op, bool f64, const void* a, const void* b, void* out, const Strided& s,
                             int device));

}  // namespace ha::cuda
