// An iteration space for the CUDA kernels that walk strided tensors: up to kMaxDims dims and the strides
// (in elements) of up to three operands. Plain C++, shared by the host code and the kernels.
#pragma once
#include <cstdint>
#include <initializer_list>

#include "tensor/error.h"
#include "tensor/shape.h"

namespace ha::cuda {

constexpr int kMaxDims = 8;

// Shape and per-operand strides (in elements) of an iteration space of up to kMaxDims dims.
struct Strided {
  int nd = 0;
  int64_t shape[kMaxDims] = {};
  int64_t stride[3][kMaxDims] = {};  // operand 0: output (or input of a reduction), 1 and 2: inputs
};

// The iteration space `shape` with each operand's strides (up to three), dims of size 1 dropped.
inline Strided strided_of(const Shape& shape, std::initializer_list<const Shape*> strides) {
  Strided s;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    HATTN_CHECK(s.nd < kMaxDims, "CUDA kernels take at most ", kMaxDims, " dims (of size > 1); got ", shape_str(shape));
    s.shape[s.nd] = shape[d];
    int k = 0;
    for (const Shape* st : strides) s.stride[k++][s.nd] = (*st)[d];
    ++s.nd;
  }
  return s;
}

}  // namespace ha::cuda
