// CPU GEMM: C = alpha * A B + beta * C for row-major C (M x N, row stride ldc) and A (M x K), B (K x N)
// given by arbitrary element strides (rs = row stride, cs = column stride), so transposed and strided
// operands need no copy. Blocked (BLIS-style packing of A and B panels), vectorised (a register-tiled
// micro-kernel written with GCC vector extensions: AVX-512, AVX2 or SSE, whichever the build targets),
// multithreaded over the tiles of C. beta == 0 never reads C. Deterministic: every C element is
// accumulated by one thread over K in a fixed order.
#pragma once
#include <cstdint>

namespace ha::cpu {

template <class T>
void gemm(int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t rsA, int64_t csA, const T* B, int64_t rsB,
          int64_t csB, T beta, T* C, int64_t ldc);

}  // namespace ha::cpu
