// Hidden attention on the GPU (float32, N <= 16 states, device pointers), the same math and layouts as the
// CPU path in xai/hidden_attention.cpp for one direction of one batch item:
//   rows:     one thread per channel, the running product over j = q, q-1, ... with the states in registers
//   matrices: one block per channel, one thread per column j; the running products of every column are
//             advanced one row at a time (E_i and C_i shared), so row i is Σ_n C_i[n] Q[n][j]
#pragma once
#include <cstdint>

#include "tensor/cuda/entry.h"

namespace ha::xai::cuda {

constexpr int64_t kMaxStates = 16;
constexpr int64_t kMaxTokens = 1024;  // matrices: one thread per column

struct TraceView {
  int64_t E, L, N, K;
  const float* delta;  // (E, L)
  const float* A;      // (E, N)
  const float* B;      // (N, L)
  const float* C;      // (N, L)
  const float* z;      // (E, L)
  const float* pre;    // (E, L)
  const float* w;      // (E, K)
};

enum class Row { Exact, Official, Unified };

// out (E, L), zero-filled by the caller: row q of every channel.
HATTN_CUDA_ENTRY(void rows(const TraceView& t, int64_t q, Row kind, float* out, int device));
// out (c1 - c0, L, L): adds the matrices of channels [c0, c1), at (L-1-i, L-1-j) when reversed.
HATTN_CUDA_ENTRY(void matrices(const TraceView& t, int64_t c0, int64_t c1, bool reversed, float* out, int device));

// The channel (head) statistics of one causal layer, one thread per matrix entry (i, j) summing over the channels
// in a fixed order (deterministic, no atomics): mean and mean of max(α, 0) in double, and each entry's extremes over
// the channels (0 above the diagonal), all (L, L), zero-free outputs the caller reduces. α from the prefix sums
// S = cumsum Δ (double, (E, L) or (H, L)):
//   channels (Mamba-1, N <= 16): α_d[i,j] = Δ_d[j] Σ_n C_i[n] B_j[n] exp(A[d,n] (S_d[i] − S_d[j]))
//   heads (Mamba-2, groups of N): α_h[i,j] = (C_i · B_j)_g exp(A_h (S_h[i] − S_h[j])) Δ_h[j]
struct StatsOut {
  double* mean;
  double* mean_relu;
  float* lo;
  float* hi;
};
struct HeadView {
  int64_t H, G, N, L;
  const float* delta;  // (H, L)
  const float* A;      // (H)
  const float* B;      // (G·N, L)
  const float* C;      // (G·N, L)
};
HATTN_CUDA_ENTRY(void channel_stats(const TraceView& t, const double* S, const StatsOut& out, int device));
HATTN_CUDA_ENTRY(void head_stats(const HeadView& h, const double* S, const StatsOut& out, int device));

// Row q of every head of a causal Mamba-2 layer, out (H, L) (zero beyond q): one thread per entry, in double.
HATTN_CUDA_ENTRY(void head_rows(const HeadView& h, const double* S, int64_t q, float* out, int device));

// The channel (head) mean X of one causal layer applied to vectors by recurrences, in double: X·1 (w == nullptr: the
// scan of a constant input, forward in time) or wᵀX (w (L): the reverse-time scan), out (L). One block per unit
// (channel or head), one thread per state; every kScanChunk tokens the block sums its states' terms per token in a
// fixed order into per_unit (U, L), and a second kernel takes the mean over the units in order (deterministic).
constexpr int64_t kMaxScanStates = 128;
struct ScanView {
  int64_t U, L, N, G;    // units, tokens, states, groups (unit u reads rows [g·N, (g+1)·N) of B and C, g = u·G/U)
  bool state_decay;      // A (U, N), one decay per state (Mamba-1), or (U), one per unit (Mamba-2)
  const float* delta;    // (U, L)
  const float* A;
  const float* B;        // (G·N, L)
  const float* C;        // (G·N, L)
};
HATTN_CUDA_ENTRY(void mean_scan(const ScanView& v, const double* w, double* per_unit, double* out, int device));

}  // namespace ha::xai::cuda
