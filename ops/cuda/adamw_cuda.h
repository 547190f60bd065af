// The AdamW update on the GPU over flat parameter / gradient / moment buffers (float32, device pointers):
//   p -= decay_mask · lr·wd · p;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g²;  p -= step · m / (√v · vscale + eps)
// with step = lr / (1 - b1^t) and vscale = 1 / √(1 - b2^t), exactly as nn/adamw.cpp on the CPU.
#pragma once
#include <cstdint>

#include "tensor/cuda/entry.h"

namespace ha::cuda {

HATTN_CUDA_ENTRY(void adamw_step(float* p, const float* g, float* m, float* v, const float* decay_mask, int64_t n,
                                 float b1, float b2, float eps, float step, float vscale, float decay, int device));

}  // namespace ha::cuda
