// Mamba-2's hidden attention, one matrix per head (docs/definitions.md §9). Head h (group g = h·G/H) has a scalar
// decay, so its matrix is a masked, decayed Gram matrix of the group's C and B:
//   α_h[i,j] = (C_i · B_j) · exp(A_h · Σ_{k=j+1..i} Δ_k) · Δ_j   for j ≤ i, else 0
// and Σ_j α_h[i,j] x_j = y_i − D_h x_i for every channel of the head (tested). With prefix sums S_i = Σ_{k≤i} Δ_k
// (in double) the exponent A_h (S_i − S_j) is ≤ 0: no overflow. C·B is one GEMM per group (O(T²N)), the rest O(T²) per head.
#pragma once
#include "nn/mamba2_mixer.h"
#include "xai/hidden_attention.h"

namespace ha::xai {

// Heads [h0, h1) of batch item `batch`: (h1 − h0, T, T), in the trace's dtype, on the CPU.
Tensor head_attention_matrices(const nn::Mamba2Trace& t, int64_t batch, int64_t h0, int64_t h1);
// Row q of every head: (H, T), zero beyond q, on the CPU (`where` a CUDA device: computed there, float32).
Tensor head_rows(const nn::Mamba2Trace& t, int64_t batch, int64_t q, Device where = Device::cpu());

// Head means of α and max(α, 0), float64 (T, T), and α's extremes over every head and entry (the zeros above the
// diagonal included), row by row without the (H, T, T) tensor.
CausalAttentionStats head_attention_stats(const nn::Mamba2Trace& t, int64_t batch, Device where = Device::cpu());

// The head mean X applied to vectors by recurrences over the N states, O(H·T·N), float64 (T) on the CPU: X·1 and
// wᵀX (`where` a CUDA device: the scans run there, N <= 128).
Tensor head_mean_row_sums(const nn::Mamba2Trace& t, int64_t batch, Device where = Device::cpu());
Tensor head_mean_vecmat(const nn::Mamba2Trace& t, int64_t batch, const Tensor& w, Device where = Device::cpu());

}  // namespace ha::xai
