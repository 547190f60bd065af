// gather and scatter_add along any dim on the GPU (float32 and float64; ops/index.cpp checks the arguments and
// keeps the index on the host for its range check, then passes a device copy). Deterministic without atomics:
// scatter_add runs one thread per output element, which walks its index column along the dim and adds the
// sources that point at it in index order, the CPU's order, so both give the same sums bit for bit.
#pragma once
#include <cstdint>

#include "tensor/cuda/entry.h"

namespace ha::cuda {

constexpr int kMaxIndexDims = 8;

// The iteration space of one gather or scatter_add: `dim`, the index's shape (its strides are row-major), and the
// other operand's shape and strides in elements (gather: the input's, any strides; scatter_add: the output's,
// contiguous).
struct IndexSpace {
  int nd = 0, dim = 0;
  int64_t index_shape[kMaxIndexDims] = {};
  int64_t data_shape[kMaxIndexDims] = {};
  int64_t data_stride[kMaxIndexDims] = {};
};

// out[p] = x[p with p[dim] = index[p]] for every position p of the index (out contiguous, the index's shape)
HATTN_CUDA_ENTRY(void gather(bool f64, const void* x, const int64_t* index, void* out, const IndexSpace& space,
                             int device));
// out (data_shape, contiguous, every element written) = Σ src[p] over the index positions p with index[p] = the
// output's position along dim and p equal to it elsewhere; src contiguous in the index's shape
HATTN_CUDA_ENTRY(void scatter_add(bool f64, const void* src, const int64_t* index, void* out, const IndexSpace& space,
                                  int device));

}  // namespace ha::cuda
