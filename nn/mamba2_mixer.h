// The Mamba-2 mixer (the language models' SSD layer). Input a (B, L, D); E inner channels in H heads of P = E / H
// channels; G groups of N-dimensional B and C, head h reading group g = h·G/H.
//   [z (E) | xBC (E + 2GN) | dt (H)] = in_proj(a)
//   xBC = silu(causal_conv1d(xBC)) -> x (E), B (GN), C (GN)
//   Δ = softplus(dt + dt_bias) per head, A_h = -exp(A_log_h); head h keeps a P×N state:
//     S_t = exp(Δ_t A_h) S_{t-1} + Δ_t x_t B_tᵀ,   y_t = S_t C_t + D_h x_t
//   y = RMSNorm over each group's E/G channels of (y ⊙ silu(z)), times norm.weight;  out = out_proj(y)
// The recurrence runs in the chunked state-space-duality form (ops/ssd_chunked.cpp): batched GEMMs within
// chunks and a short recurrence across them, per head (no per-channel expansion); its gradient is its ops'.
#pragma once
#include "nn/module.h"
#include "ops/ops.h"

namespace ha::nn {

struct Mamba2Config {
  int64_t d_model = 768, d_inner = 1536, d_state = 128, d_conv = 4, nheads = 24, ngroups = 1;
  double norm_eps = 1e-5;
  int64_t headdim() const { return d_inner / nheads; }
  int64_t conv_dim() const { return d_inner + 2 * ngroups * d_state; }
};

// What hidden attention reads from one Mamba-2 mixer (detached, token order), captured only when asked.
struct Mamba2Trace {
  Tensor delta;  // (B, H, L)  Δ = softplus(dt + dt_bias)
  Tensor Bm;     // (B, G·N, L)
  Tensor Cm;     // (B, G·N, L)
  Tensor A;      // (H)        -exp(A_log)
  Tensor D;      // (H)
  Tensor x;      // (B, E, L)  the scan's input (after the conv and SiLU)
  int64_t groups = 1;  // G: head h reads rows [g·N, (g+1)·N) of Bm and Cm, g = h·G/H
};

class Mamba2Mixer : public Module {
 public:
  explicit Mamba2Mixer(const Mamba2Config& c);
  Tensor operator()(const Tensor& a, Mamba2Trace* trace = nullptr) const;  // a (B, L, D) -> (B, L, D)
  Mamba2Config cfg;
  Tensor dt_bias, A_log, D, in_proj_weight, conv_weight, conv_bias, norm_weight, out_proj_weight;
};

}  // namespace ha::nn
