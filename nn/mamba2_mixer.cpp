#include "nn/mamba2_mixer.h"

#include "autograd/grad_mode.h"

namespace ha::nn {
namespace {
// Tokens per SSD chunk: the released kernels' 256 suit a GPU; on a CPU 64 keeps the Q×Q scores and the
// per-chunk states in cache, and the work grows as L·Q for the scores against L·P·N for the states.
constexpr int64_t kChunk = 64;
}  // namespace

Mamba2Mixer::Mamba2Mixer(const Mamba2Config& c) : cfg(c) {
  HATTN_CHECK(c.nheads > 0 && c.d_inner % c.nheads == 0 && c.ngroups > 0 && c.nheads % c.ngroups == 0,
              "Mamba2Mixer: ", c.nheads, " heads, ", c.ngroups, " groups and ", c.d_inner, " channels do not divide");
  const int64_t E = c.d_inner, H = c.nheads;
  // Registration order follows the released state dict.
  dt_bias = register_parameter("dt_bias", {H});
  A_log = register_parameter("A_log", {H});
  D = register_parameter("D", {H});
  in_proj_weight = register_parameter("in_proj.weight", {2 * E + 2 * c.ngroups * c.d_state + H, c.d_model});
  conv_weight = register_parameter("conv1d.weight", {c.conv_dim(), 1, c.d_conv});
  conv_bias = register_parameter("conv1d.bias", {c.conv_dim()});
  norm_weight = register_parameter("norm.weight", {E});
  out_proj_weight = register_parameter("out_proj.weight", {c.d_model, E});
}

Tensor Mamba2Mixer::operator()(const Tensor& a, Mamba2Trace* trace) const {
  const int64_t E = cfg.d_inner, H = cfg.nheads, G = cfg.ngroups, N = cfg.d_state;
  const int64_t Bsz = a.size(0), L = a.size(1), Eg = E / G;
  // Channel-major projections, as in the Mamba-1 mixer: the conv and the scan read (B, C, L) rows.
  Tensor proj = matmul(in_proj_weight, a.transpose(1, 2));  // (B, 2E + 2GN + H, L)
  Tensor z = proj.narrow(1, 0, E);
  Tensor xBC = silu(causal_conv1d(proj.narrow(1, E, cfg.conv_dim()), conv_weight.reshape({cfg.conv_dim(), cfg.d_conv}),
                                  conv_bias));
  Tensor dt = proj.narrow(1, E + cfg.conv_dim(), H);  // (B, H, L)
  Tensor x = xBC.narrow(1, 0, E), Bm = xBC.narrow(1, E, G * N), Cm = xBC.narrow(1, E + G * N, G * N);
  Tensor A = neg(exp(A_log));  // (H)
  Tensor delta = softplus(add(dt, dt_bias.reshape({H, 1})));  // (B, H, L)
  Tensor y = ssd_chunked({x, delta, A, Bm, Cm, D, G, kChunk});  // (B, E, L)
  y = mul(y, silu(z)).transpose(1, 2);  // (B, L, E)
  // RMSNorm over each group's channels, then the per-channel weight
  Tensor unit = Tensor::ones({Eg}, y.dtype(), y.device());
  y = mul(rms_norm(y.reshape({Bsz, L, G, Eg}), unit, cfg.norm_eps).reshape({Bsz, L, E}), norm_weight);
  if (trace) {
    NoGradGuard no_grad;
    trace->delta = delta.contiguous().detach();
    trace->Bm = Bm.contiguous().detach();
    trace->Cm = Cm.contiguous().detach();
    trace->A = A.detach();
    trace->D = D.detach();
    trace->x = x.contiguous().detach();
    trace->groups = G;
  }
  return linear(y, out_proj_weight);
}

}  // namespace ha::nn
