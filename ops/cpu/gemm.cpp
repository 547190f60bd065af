#include "ops/cpu/gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "ops/cpu/vec.h"
#include "tensor/parallel.h"
#include "tensor/transpose.h"

namespace ha::cpu {
namespace {

template <class T>
struct Tile {
  typedef T Vec __attribute__((vector_size(kVecBytes), aligned(kVecBytes)));
  static constexpr int kLanes = kVecBytes / sizeof(T);
  // rows of C per micro-tile: 2·MR accumulators + 2 B vectors + 1 broadcast must fit the vector registers
  // (32 with AVX-512, 16 below); 12 was 5-10% faster than 6 at M = 1576 and within 3% at M = 197
  static constexpr int MR = kVecBytes == 64 ? 12 : 6;
  static constexpr int NR = 2 * kLanes;   // columns of C per micro-tile: two vector registers
  static constexpr int64_t KC = 384;      // depth of a packed panel: Vim-tiny/small K (192, 384) in one pass;
                                          // B slivers (48 KB) stream from L2 (256 was 10-45% slower)
  static constexpr int64_t MC = MR * 16;  // rows of A packed per block
  static constexpr int64_t NC = NR * 64;  // columns of B packed per block
};

template <class T>
struct AlignedBuffer {
  T* p = nullptr;
  explicit AlignedBuffer(size_t n) {
    size_t bytes = ((n * sizeof(T) + 63) / 64) * 64;
    p = static_cast<T*>(std::aligned_alloc(64, bytes ? bytes : 64));
  }
  ~AlignedBuffer() { std::free(p); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
};

// acc[MR x NR] = sum_k a[k][0..MR) (x) b[k][0..NR)
template <class T>
inline void micro_kernel(int64_t kc, const T* __restrict a, const T* __restrict b, T* __restrict acc) {
  using V = typename Tile<T>::Vec;
  constexpr int MR = Tile<T>::MR, L = Tile<T>::kLanes;
  V c[MR][2];
  for (int i = 0; i < MR; ++i) c[i][0] = c[i][1] = V{};
  for (int64_t k = 0; k < kc; ++k) {
    V b0 = *reinterpret_cast<const V*>(b);
    V b1 = *reinterpret_cast<const V*>(b + L);
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      // a broadcast load (a load port, folded into the FMA). `V{} + a[i]` was a scalar add of +0 (kept for
      // signed zeros) and a register broadcast, which takes the port that half of the 512-bit FMAs need;
      // a[i] − (+0) is a[i] for every value, so it folds away.
      const V ai = a[i] - V{};
      c[i][0] = fmadd(ai, b0, c[i][0]);
      c[i][1] = fmadd(ai, b1, c[i][1]);
    }
    a += MR;
    b += 2 * L;
  }
  for (int i = 0; i < MR; ++i) {
    *reinterpret_cast<V*>(acc + i * 2 * L) = c[i][0];
    *reinterpret_cast<V*>(acc + i * 2 * L + L) = c[i][1];
  }
}

// Packs rows [i0, i0+mc) x depth [p0, p0+kc) of A into MR-row slivers, k-major, zero-padded.
template <class T>
void pack_a(T* dst, const T* A, int64_t rsA, int64_t csA, int64_t i0, int64_t mc, int64_t p0, int64_t kc) {
  constexpr int MR = Tile<T>::MR;
  for (int64_t ir = 0; ir < mc; ir += MR) {
    int64_t mr = std::min<int64_t>(MR, mc - ir);
    for (int64_t k = 0; k < kc; ++k) {
      const T* src = A + (i0 + ir) * rsA + (p0 + k) * csA;
      for (int64_t i = 0; i < mr; ++i) dst[k * MR + i] = src[i * rsA];
      for (int64_t i = mr; i < MR; ++i) dst[k * MR + i] = T(0);
    }
    dst += kc * MR;
  }
}

// Packs depth [p0, p0+kc) x columns [j0, j0+nc) of B into NR-column slivers, k-major, zero-padded.
template <class T>
void pack_b(T* dst, const T* B, int64_t rsB, int64_t csB, int64_t p0, int64_t kc, int64_t j0, int64_t nc) {
  constexpr int NR = Tile<T>::NR;
  const int64_t slivers = (nc + NR - 1) / NR;
  parallel_for(slivers, 4, [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) {
      int64_t jr = s * NR;
      int64_t nr = std::min<int64_t>(NR, nc - jr);
      T* d = dst + s * kc * NR;
      for (int64_t k = 0; k < kc; ++k) {
        const T* src = B + (p0 + k) * rsB + (j0 + jr) * csB;
        if (csB == 1) {
          std::memcpy(d + k * NR, src, nr * sizeof(T));
        } else if (rsB != 1) {
          for (int64_t j = 0; j < nr; ++j) d[k * NR + j] = src[j * csB];
        }
        for (int64_t j = nr; j < NR; ++j) d[k * NR + j] = T(0);
      }
      // B transposed in memory (Linear's weights): the sliver is a transpose of a block of rows
      if (csB != 1 && rsB == 1) transpose_block(B + p0 + (j0 + jr) * csB, csB, d, NR, kc, nr);
    }
  });
}

}  // namespace

template <class T>
void gemm(int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t rsA, int64_t csA, const T* B, int64_t rsB,
          int64_t csB, T beta, T* C, int64_t ldc) {
  using Tl = Tile<T>;
  constexpr int MR = Tl::MR, NR = Tl::NR;
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == T(0)) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == T(0) ? T(0) : beta * C[i * ldc + j];
    return;
  }
  const int64_t m_blocks = (M + Tl::MC - 1) / Tl::MC;
  AlignedBuffer<T> bpack(static_cast<size_t>(Tl::KC) * (Tl::NC + NR));
  AlignedBuffer<T> apack(static_cast<size_t>(Tl::KC) * (m_blocks * Tl::MC + MR));

  for (int64_t jc = 0; jc < N; jc += Tl::NC) {
    const int64_t nc = std::min<int64_t>(Tl::NC, N - jc);
    const int64_t n_slivers = (nc + NR - 1) / NR;
    for (int64_t pc = 0; pc < K; pc += Tl::KC) {
      const int64_t kc = std::min<int64_t>(Tl::KC, K - pc);
      const T beta_eff = pc == 0 ? beta : T(1);
      pack_b(bpack.p, B, rsB, csB, pc, kc, jc, nc);
      parallel_for(m_blocks, 1, [&](int64_t b0, int64_t b1) {
        for (int64_t mb = b0; mb < b1; ++mb) {
          int64_t ic = mb * Tl::MC;
          pack_a(apack.p + mb * Tl::MC * kc, A, rsA, csA, ic, std::min<int64_t>(Tl::MC, M - ic), pc, kc);
        }
      });
      // One task = one MR-row sliver of A against a run of NR-column slivers of B.
      const int64_t m_slivers = (M + MR - 1) / MR;
      const int64_t n_groups = (n_slivers + 7) / 8;
      parallel_for(m_slivers * n_groups, 1, [&](int64_t t0, int64_t t1) {
        alignas(64) T acc[MR * NR];
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t ms = t / n_groups, ng = t % n_groups;
          const int64_t ir = ms * MR;
          const int64_t mb = ir / Tl::MC;
          const T* a = apack.p + mb * Tl::MC * kc + (ir - mb * Tl::MC) * kc;
          const int64_t mr = std::min<int64_t>(MR, M - ir);
          for (int64_t s = ng * 8; s < std::min<int64_t>(n_slivers, ng * 8 + 8); ++s) {
            const int64_t jr = s * NR;
            const int64_t nr = std::min<int64_t>(NR, nc - jr);
            micro_kernel<T>(kc, a, bpack.p + s * kc * NR, acc);
            T* c = C + ir * ldc + jc + jr;
            for (int64_t i = 0; i < mr; ++i) {
              T* crow = c + i * ldc;
              const T* arow = acc + i * NR;
              if (beta_eff == T(0)) {
                for (int64_t j = 0; j < nr; ++j) crow[j] = alpha * arow[j];
              } else {
                for (int64_t j = 0; j < nr; ++j) crow[j] = alpha * arow[j] + beta_eff * crow[j];
              }
            }
          }
        }
      });
    }
  }
}

template void gemm<float>(int64_t, int64_t, int64_t, float, const float*, int64_t, int64_t, const float*, int64_t,
                          int64_t, float, float*, int64_t);
template void gemm<double>(int64_t, int64_t, int64_t, double, const double*, int64_t, int64_t, const double*,
                           int64_t, int64_t, double, double*, int64_t);

}  // namespace ha::cpu
