#include "nn/mamba_mixer.h"

#include "autograd/grad_mode.h"
#include "autograd/lrp.h"
#include "tensor/parallel.h"

namespace ha::nn {

// The conv and the scan read channel rows (B, C, L), so the projections are computed as W · X, which gives
// that layout directly: token-major outputs (X^T W^T) would need a transposing copy before each of them.
Tensor Direction::run(const Tensor& x, const Tensor& z, const MambaConfig& cfg, DirectionTrace* trace) const {
  const int64_t E = cfg.d_inner(), R = cfg.dt_rank, N = cfg.d_state;
  Tensor w = conv_weight.reshape({E, cfg.d_conv});
  Tensor pre = causal_conv1d(x, w, conv_bias);  // (B, E, L)
  Tensor u = silu(pre);
  Tensor x_dbl = matmul(x_proj_weight, u);  // (R + 2N, E) · (B, E, L) -> (B, R + 2N, L)
  Tensor dt_low = x_dbl.narrow(1, 0, R);    // (B, R, L)
  Tensor Bm = x_dbl.narrow(1, R, N);        // (B, N, L)
  Tensor Cm = x_dbl.narrow(1, R + N, N);    // (B, N, L)
  Tensor delta_raw = matmul(dt_proj_weight, dt_low);  // (E, R) · (B, R, L) -> (B, E, L); the bias goes to the scan
  Tensor A = neg(exp(A_log));
  Tensor y = selective_scan({u, delta_raw, A, Bm, Cm, D, z, dt_proj_bias, true, false});
  if (trace) {
    NoGradGuard no_grad;
    trace->delta = softplus(add(delta_raw, dt_proj_bias.reshape({E, 1}))).detach();
    trace->Bm = Bm.contiguous().detach();
    trace->Cm = Cm.contiguous().detach();
    trace->A = A.detach();
    trace->D = D.detach();
    trace->z = z.contiguous().detach();
    trace->pre = pre.detach();
    trace->conv_weight = w.contiguous().detach();
  }
  return y;
}

MambaMixer::MambaMixer(const MambaConfig& c) : cfg(c) {
  const int64_t E = c.d_inner();
  // Registration order follows the official state dict.
  fwd.A_log = register_parameter("A_log", {E, c.d_state});
  fwd.D = register_parameter("D", {E});
  if (c.bidirectional) {
    bwd.A_log = register_parameter("A_b_log", {E, c.d_state});
    bwd.D = register_parameter("D_b", {E});
  }
  in_proj_weight = register_parameter("in_proj.weight", {2 * E, c.d_model});
  for (auto [dir, suffix] : {std::pair<Direction*, const char*>{&fwd, ""}, {&bwd, "_b"}}) {
    if (dir == &bwd && !c.bidirectional) break;
    const std::string s = suffix;
    dir->conv_weight = register_parameter("conv1d" + s + ".weight", {E, 1, c.d_conv});
    dir->conv_bias = register_parameter("conv1d" + s + ".bias", {E});
    dir->x_proj_weight = register_parameter("x_proj" + s + ".weight", {c.dt_rank + 2 * c.d_state, E});
    dir->dt_proj_weight = register_parameter("dt_proj" + s + ".weight", {E, c.dt_rank});
    dir->dt_proj_bias = register_parameter("dt_proj" + s + ".bias", {E});
  }
  out_proj_weight = register_parameter("out_proj.weight", {c.d_model, E});
}

Tensor MambaMixer::operator()(const Tensor& a, MixerTrace* trace) const {
  const int64_t E = cfg.d_inner();
  Tensor xz = matmul(in_proj_weight, a.transpose(1, 2));  // (2E, D) · (B, D, L) -> (B, 2E, L), rows contiguous
  Tensor x = xz.narrow(1, 0, E), z = xz.narrow(1, E, E);
  if (!cfg.bidirectional) {
    Tensor y = fwd.run(x, z, cfg, trace ? &trace->fwd : nullptr);
    return linear(y.transpose(1, 2), out_proj_weight);
  }
  // The two directions are independent: one task each; the ops inside share their own chunks with the
  // pool's idle threads (nested parallel_for). Results do not depend on the thread count (no kernel's split
  // does). Grad mode and the LRP rules are per thread: the workers take the caller's.
  Tensor y_f, y_b;
  const bool grad = GradMode::is_enabled();
  const LrpRules rules = lrp_rules();
  parallel_for(2, 1, [&](int64_t d0, int64_t d1) {
    GradModeGuard mode(grad);
    LrpScope lrp(rules);
    for (int64_t d = d0; d < d1; ++d) {
      if (d == 0) y_f = fwd.run(x, z, cfg, trace ? &trace->fwd : nullptr);
      else y_b = bwd.run(x.flip(2), z.flip(2), cfg, trace ? &trace->bwd : nullptr).flip(2);
    }
  });
  Tensor y = mul(add(y_f, y_b), 0.5);  // if_divide_out
  return linear(y.transpose(1, 2), out_proj_weight);
}

}  // namespace ha::nn
