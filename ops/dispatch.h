// Argument checks every op shares. Each names the op and the offending shapes/dtypes/devices.
#pragma once
#include <initializer_list>

#include "tensor/tensor.h"

namespace ha {

inline void check_defined(const char* op, std::initializer_list<Tensor> ts) {
  for (const Tensor& t : ts) HATTN_CHECK(t.defined(), op, ": an input tensor is undefined");
}

inline void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  HATTN_CHECK(a.dtype() == b.dtype(), op, ": dtype mismatch: ", describe(a), " vs ", describe(b));
}

inline void check_floating(const char* op, const Tensor& t) {
  HATTN_CHECK(is_floating(t.dtype()), op, ": expected a floating tensor, got ", describe(t));
}

inline void check_dim(const char* op, const char* what, const Tensor& t, int64_t ndim) {
  HATTN_CHECK(t.dim() == ndim, op, ": ", what, " must have ", ndim, " dims, got ", describe(t));
}

inline void check_shape(const char* op, const char* what, const Tensor& t, const Shape& expected) {
  HATTN_CHECK(t.shape() == expected, op, ": ", what, " must have shape ", shape_str(expected), ", got ",
              describe(t));
}

}  // namespace ha
