// GEMM on the GPU through cuBLAS: C (M x N, row stride ldc) = A (M x K) · B (K x N) for row-major operands
// given by (row stride, column stride); one of each operand's strides must be 1 (the op layer makes
// other operands contiguous first). Float32 or float64, device pointers, beta = 0.
#pragma once
#include <cstdint>

#include "tensor/cuda/entry.h"

namespace ha::cuda {

// Whether an (rows x cols) operand with these strides can be passed to cuBLAS without a copy.
HATTN_CUDA_ENTRY(bool gemm_operand_ok(int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride));

HATTN_CUDA_ENTRY(void gemm(bool f64, int64_t M, int64_t N, int64_t K, const void* A, int64_t rsA, int64_t csA,
                           const void* B, int64_t rsB, int64_t csB, void* C, int64_t ldc, int device));

}  // namespace ha::cuda
