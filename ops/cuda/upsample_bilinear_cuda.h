// Bilinear upsampling (PyTorch's align_corners=False) on the GPU, float32 / float64, contiguous (P, H, W)
// planes. Forward: one thread per output pixel. Backward: one thread per plane, scattering in the CPU's order
// (deterministic; planes are few where this runs: maps and images).
#pragma once
#include <cstdint>

#include "tensor/cuda/entry.h"

namespace ha::cuda {

HATTN_CUDA_ENTRY(void upsample_bilinear_forward(bool f64, const void* x, void* y, int64_t P, int64_t H, int64_t W,
                                               int64_t out_h, int64_t out_w, int device));
// dx (P, H, W) is overwritten
HATTN_CUDA_ENTRY(void upsample_bilinear_backward(bool f64, const void* g, void* dx, int64_t P, int64_t H, int64_t W,
                                                int64_t out_h, int64_t out_w, int device));

}  // namespace ha::cuda
