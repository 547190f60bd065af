// CUDA selective scan (design 1: one thread per (batch, channel), the states in registers, as llama.cpp does;
// kernels are instantiated for N ≤ 16 (Vim, Mamba-1), 64, 128 (Mamba-2) and 256, the larger ones spilling). Pointers are device pointers, contiguous, float32; shapes as in ops/cpu/selective_scan_cpu.h.
// The backward is deterministic: per-(b, e) contributions go to scratch buffers that separate kernels reduce
// in a fixed order (no atomics).
#pragma once
#include "ops/cpu/selective_scan_cpu.h"
#include "tensor/cuda/entry.h"

namespace ha::cuda {

constexpr int64_t kScanMaxStates = 256;  // Vim 16, Mamba-2 128

HATTN_CUDA_ENTRY(void selective_scan_forward(const cpu::ScanArgs<float>& a, float* out, int device));
HATTN_CUDA_ENTRY(void selective_scan_backward(const cpu::ScanArgs<float>& a, const float* dout, float* du,
                                             float* ddelta, float* dA, float* dB, float* dC, float* dD, float* dz,
                                             float* ddelta_bias, int device));

}  // namespace ha::cuda
