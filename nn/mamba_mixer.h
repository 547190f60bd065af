// The Mamba(-1) mixer: Vim's bidirectional one (bimamba v2), or with `bidirectional` off the language models'
// causal one (the forward direction alone, no averaging). Input a (B, L, D); E = expand * D inner channels.
//   xz = in_proj(a) -> x, z (B, E, L)
//   per direction: pre = causal_conv1d(x) ; u = silu(pre) ; [dt_low | B | C] = x_proj(u)
//                  delta_raw = dt_proj.weight dt_low ; y = scan(u, delta_raw, -exp(A_log), B, C, D, z,
//                  delta_bias = dt_proj.bias, softplus)
//   the backward direction runs on x and z flipped along L with the *_b parameters; its y is flipped back
//   out = out_proj((y_fwd + y_bwd) / 2), or out_proj(y_fwd) when not bidirectional
#pragma once
#include "nn/layers.h"

namespace ha::nn {

// What hidden attention and the explanations read from one direction of one mixer, in the order that
// direction's scan saw the tokens (the backward direction's tensors are in reversed token order).
// Captured detached (no graph), only when asked.
struct DirectionTrace {
  Tensor delta;  // (B, E, L)  Δ = softplus(delta_raw + dt_proj.bias)
  Tensor Bm;     // (B, N, L)
  Tensor Cm;     // (B, N, L)
  Tensor A;      // (E, N)     -exp(A_log)
  Tensor D;      // (E)
  Tensor z;      // (B, E, L)  gate input
  Tensor pre;    // (B, E, L)  conv output before SiLU
  Tensor conv_weight;  // (E, K)
};

struct MixerTrace {
  DirectionTrace fwd, bwd;  // bwd stays empty for a causal mixer
};

struct MambaConfig {
  int64_t d_model = 192, d_state = 16, d_conv = 4, expand = 2, dt_rank = 12;
  bool bidirectional = true;  // Vim; the language models' mixer is the forward direction alone
  int64_t d_inner() const { return expand * d_model; }
};

// One direction's parameters (handles registered by the mixer under the official names: A_log, D, conv1d.*,
// x_proj.weight, dt_proj.* for the forward direction; A_b_log, D_b, conv1d_b.*, ... for the backward one).
struct Direction {
  Tensor A_log, D, conv_weight, conv_bias, x_proj_weight, dt_proj_weight, dt_proj_bias;
  Tensor run(const Tensor& x, const Tensor& z, const MambaConfig& cfg, DirectionTrace* trace) const;  // (B, E, L)
};

class MambaMixer : public Module {
 public:
  explicit MambaMixer(const MambaConfig& c);
  Tensor operator()(const Tensor& a, MixerTrace* trace = nullptr) const;  // a (B, L, D) -> (B, L, D)
  MambaConfig cfg;
  Tensor in_proj_weight, out_proj_weight;
  Direction fwd, bwd;  // bwd's tensors are undefined when not bidirectional
};

}  // namespace ha::nn
