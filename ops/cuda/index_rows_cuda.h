// Rows of a matrix picked by index (an embedding lookup, index_select along dim 0) and its adjoint, on the GPU.
// float32 and float64, contiguous device buffers. The adjoint is deterministic without atomics: the host groups
// the positions by the row they read (a CSR list, positions in order), and one thread per (row, column) sums
// its positions in that order.
#pragma once
#include <cstdint>

#include "tensor/cuda/entry.h"

namespace ha::cuda {

// out[i, :] = x[index[i], :] for i < n; x (rows, width), index: device int64 (n)
HATTN_CUDA_ENTRY(void gather_rows(bool f64, const void* x, const int64_t* index, void* out, int64_t n, int64_t width,
                                 int device));
// dx[rows_used[u], :] += Σ_{k in [offsets[u], offsets[u+1])} g[positions[k], :] for u < used (dx pre-zeroed);
// rows_used, offsets (used + 1) and positions (n) are device int64
HATTN_CUDA_ENTRY(void scatter_add_rows(bool f64, const void* g, const int64_t* rows_used, const int64_t* offsets,
                                      const int64_t* positions, int64_t used, void* dx, int64_t width, int device));

}  // namespace ha::cuda
