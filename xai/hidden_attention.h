// Mamba's hidden attention (docs/definitions.md §4). For one channel d of one direction, over that direction's token order:
//   α[i,j] = Σ_n C_i[n] · exp(A[d,n] · Σ_{k=j+1..i} Δ_k[d]) · Δ_j[d] · B_j[n]    for j ≤ i, else 0
// so that Σ_j α[i,j] u_j = y_i − D u_i. The backward direction's matrix in original token order is
// α_b[i,j] = α'[L−1−i, L−1−j]; F = α_f + α_b.
//
// Algorithm: per channel, the factors E_t[n] = exp(Δ_t A[n]) and Δ_t B_t[n] are computed once (L·N exps);
// a row i is then a running product over j = i, i−1, ... (P ← P·E_j), so a row costs O(L·N) multiply-adds
// and a full matrix O(L²·N), with every partial product ≤ 1 (no overflow, no cancellation). Rows and
// matrices are computed in the trace's dtype (fp32 for the model; the tests use fp64).
#pragma once
#include <functional>
#include "nn/mamba_mixer.h"
#include "xai/cuda/hidden_attention_cuda.h"

namespace ha::xai {

enum class Direction { Fwd, Bwd, Sum };
Direction parse_direction(const std::string& s);  // "fwd" | "bwd" | "sum"
const char* direction_name(Direction d);

enum class RowKind {
  Exact,     // row q of α
  Official,  // the released code's vector: C_q replaced by C_q / exp(Δ_q A), diagonal dropped (zero)
  Unified,   // the follow-up's α̂ = diag(SiLU(z)) α diag(σ(pre)) M_conv, row q (conv bias and D left out)
};

// Row q of every channel of one direction, in that direction's token order: (E, L), zero beyond q. A trace on a
// CUDA device is read there (the rows stay there); `where` a CUDA device runs a CPU trace's rows there (N <= 16),
// float32, returned to the CPU.
Tensor direction_rows(const nn::DirectionTrace& t, int64_t batch, int64_t q, RowKind kind,
                      Device where = Device::cpu());

// Two-direction rows for the cls token, in original token order: (E, L).
//   Exact / Unified: forward row + reversed backward row (the backward row is taken at L−1−cls).
//   Official: forward at t < cls, 0 at cls, backward at t > cls (the released splice).
Tensor cls_rows(const nn::MixerTrace& m, int64_t batch, int64_t cls, RowKind kind);

// Full per-channel matrices of channels [c0, c1), in original token order: (c1 − c0, L, L).
Tensor attention_matrices(const nn::MixerTrace& m, Direction d, int64_t batch, int64_t c0, int64_t c1);

// Channel reductions of one layer's matrices, computed channel by channel (never E·L² at once):
struct LayerAttentionStats {
  Tensor mean_fwd, mean_bwd, mean_sum;  // (L, L): mean over channels of α_f, α_b, F
  Tensor mean_relu_sum;                 // (L, L): mean over channels of max(F, 0)
  double min_sum = 0, max_sum = 0;      // min and max of F over all channels and entries
};
LayerAttentionStats layer_attention_stats(const nn::MixerTrace& m, int64_t batch);

// The same for one causal direction (the language models): channel means of α and max(α, 0) as float64 (L, L),
// and α's extremes over every channel and entry (the zeros above the diagonal included), in one sweep.
struct CausalAttentionStats {
  Tensor mean, mean_relu;
  double min = 0, max = 0;
};
// `where`: a CUDA device runs the sweep there (one thread per entry; N <= 16), from the CPU trace.
CausalAttentionStats causal_attention_stats(const nn::DirectionTrace& t, int64_t batch, Device where = Device::cpu());

// The device outputs of the statistics kernels and their reduction (shared with head_attention.cpp).
struct CausalStatsOnDevice {
  CausalStatsOnDevice(int64_t L, Device where);
  CausalAttentionStats result() const;
  Tensor mean, mean_relu, lo, hi;
  cuda::StatsOut out;
};

// The channel mean X = mean_d α_d of one causal direction applied to vectors, by recurrences in O(E·L·N) (no
// matrix; double accumulation): its row sums X·1 (the scan of a constant input) and wᵀX (a reverse-time scan).
// Both (L), float64, on the CPU. What rollout needs of a layer. `where` a CUDA device: the scans run there
// (cuda::mean_scan, N <= 128) from the float32 trace.
Tensor causal_mean_row_sums(const nn::DirectionTrace& t, int64_t batch, Device where = Device::cpu());
Tensor causal_mean_vecmat(const nn::DirectionTrace& t, int64_t batch, const Tensor& w, Device where = Device::cpu());

// cuda::mean_scan on `where` from device views: w undefined, the row sums; else wᵀX. (L) float64 on the CPU.
Tensor mean_scan_on_device(const cuda::ScanView& v, const Tensor& w, Device where);

// Every channel's matrix (L, L) to f(range, channel, matrix): `ranges` fixed channel ranges in parallel, each in
// channel order (MixerOperator::sweep_channels for a causal direction).
void causal_channel_sweep(const nn::DirectionTrace& t, int64_t batch, int64_t ranges,
                          const std::function<void(int64_t, int64_t, const Tensor&)>& f);

}  // namespace ha::xai
