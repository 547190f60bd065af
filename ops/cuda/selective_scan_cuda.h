// CUDA selective scan: one block per (batch, channel), the L steps in chunks scanned in parallel by the block's
// threads, kGroup states at a time (ops/cuda/selective_scan.cu), so the states never sit in registers and every N
// up to kScanMaxStates runs without spilling. Pointers are device pointers, contiguous, float32; shapes as in
// ops/cpu/selective_scan_cpu.h. The backward is deterministic: per-(b, e) contributions go to scratch buffers that
// separate kernels reduce in a fixed order (no atomics); dA, dD and dΔ-bias sum in double, as the CPU's do.
#pragma once
#include "ops/cpu/selective_scan_cpu.h"
#include "tensor/cuda/entry.h"

namespace ha::cuda {

constexpr int kScanMaxStates = 256;  // Vim and Mamba-1: 16; Mamba-2: 128

HATTN_CUDA_ENTRY(void selective_scan_forward(const cpu::ScanArgs<float>& a, float* out, int device));
HATTN_CUDA_ENTRY(void selective_scan_backward(const cpu::ScanArgs<float>& a, const float* dout, float* du,
                                             float* ddelta, float* dA, float* dB, float* dC, float* dD, float* dz,
                                             float* ddelta_bias, int device));

}  // namespace ha::cuda
