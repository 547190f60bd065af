// CUDA im2col / col2im for conv2d (the GEMMs go through cuda::gemm). One image per call, float32 or
// float64, contiguous device buffers. col2im gathers (each input element sums the columns that read it, in
// a fixed order): deterministic, no atomics.
#pragma once
#include <cstdint>

#include "tensor/cuda/entry.h"

namespace ha::cuda {

struct ConvShape {
  int64_t C, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo;
};

// cols[r * ld + p] for r < C·kh·kw, p < Ho·Wo (zero where the window leaves the padded image)
HATTN_CUDA_ENTRY(void im2col(bool f64, const void* x, const ConvShape& s, void* cols, int64_t ld, int device));
// dx (C, H, W) = the sum of every column entry that im2col took from each element (overwrites dx)
HATTN_CUDA_ENTRY(void col2im(bool f64, const void* cols, const ConvShape& s, void* dx, int device));

}  // namespace ha::cuda
