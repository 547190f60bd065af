#include "xai/vit_lrp.h"

#include <algorithm>
#include <cmath>

#include "ops/ops.h"

namespace ha::xai {
namespace {

Tensor f64(const Tensor& t) { return t.detach().to(Device::cpu()).to(DType::F64).contiguous(); }

double total(const Tensor& t) { return sum(t).item(); }

// The released safe_divide on one value: a / (b + 1e-9) where b != 0 (max(b, ε) + min(b, ε) is b + ε), else 0.
double safe_div(double a, double b) {
  constexpr double eps = 1e-9;
  double den = std::max(b, eps) + std::min(b, eps);
  if (den == 0) den = eps;
  return b != 0 ? a / den : 0.0;
}

// The residual add y = a + b: both shares, rescaled so that their sums split ΣR as |Σra| : |Σrb|.
std::pair<Tensor, Tensor> relevance_add(const Tensor& R, const Tensor& a, const Tensor& b) {
  const Tensor S = safe_divide(R, add(a, b));
  Tensor ra = mul(a, S), rb = mul(b, S);
  const double sa = total(ra), sb = total(rb), r = total(R);
  const double fa = safe_div(std::abs(sa), std::abs(sa) + std::abs(sb)) * r;
  const double fb = safe_div(std::abs(sb), std::abs(sa) + std::abs(sb)) * r;
  ra = mul(ra, safe_div(fa, sa));
  rb = mul(rb, safe_div(fb, sb));
  return {ra, rb};
}

// x used twice (the residual and the branch): R_x = x ⊙ (R1 / x + R2 / x).
Tensor relevance_fan_out(const Tensor& x, const Tensor& r1, const Tensor& r2) {
  return mul(x, add(safe_divide(r1, x), safe_divide(r2, x)));
}

}  // namespace

Tensor safe_divide(const Tensor& a_in, const Tensor& b_in) {
  const Tensor b = b_in.expand(a_in.shape()).contiguous(), a = a_in.contiguous();
  HATTN_CHECK(a.dtype() == DType::F64 && b.dtype() == DType::F64, "safe_divide: float64 tensors expected");
  Tensor out = Tensor::empty(a.shape(), DType::F64);
  const double *pa = a.data<double>(), *pb = b.data<double>();
  double* po = out.data<double>();
  for (int64_t i = 0; i < a.numel(); ++i) po[i] = safe_div(pa[i], pb[i]);
  return out;
}

Tensor relevance_linear(const Tensor& R, const Tensor& x, const Tensor& weight) {
  const Tensor W = f64(weight);
  const Tensor wp = clamp(W, 0, INFINITY), wn = clamp(W, -INFINITY, 0);
  const Tensor xp = clamp(x, 0, INFINITY), xn = clamp(x, -INFINITY, 0);
  const Tensor S = safe_divide(R, add(linear(xp, wp), linear(xn, wn)));
  return add(mul(xp, matmul(S, wp)), mul(xn, matmul(S, wn)));
}

std::vector<Tensor> attention_relevance(const VisionTransformer& model, const VitOutput& out, int64_t target,
                                        Tensor* input_relevance) {
  NoGradGuard ng;
  const VitConfig& c = model.config();
  HATTN_CHECK(out.traces.size() == model.blocks.size() && out.features.defined(),
              "attention_relevance: the forward pass was run without traces");
  HATTN_CHECK(!c.distilled, "attention_relevance: Transformer-Attribution is not defined for distilled DeiT");
  const int64_t T = c.num_tokens(), D = c.d_model, H = c.heads, dh = D / H, classes = c.num_classes;
  // the head: one-hot relevance at the target logit, back to the pooled cls features
  const Tensor feats = f64(out.features.narrow(0, 0, 1));  // (1, T, D)
  const Tensor pooled = feats.select(1, 0);                 // (1, D)
  Tensor one_hot = Tensor::zeros({1, classes}, DType::F64);
  one_hot.data<double>()[target] = 1.0;
  const Tensor r_pooled = relevance_linear(one_hot, pooled, model.head.weight);
  // cls pooling: token 0 keeps x₀ ⊙ (R / x₀); the final LayerNorm passes it on unchanged
  Tensor R = Tensor::zeros({1, T, D}, DType::F64);
  raw::narrow(R, 1, 0, 1).copy_(mul(pooled, safe_divide(r_pooled, pooled)).unsqueeze(1));
  std::vector<Tensor> rel(c.depth);
  for (int64_t l = c.depth - 1; l >= 0; --l) {
    const VitBlock& blk = *model.blocks[l];
    const VitBlockTrace& tr = out.traces[l];
    auto at = [](const Tensor& t) { return f64(t.narrow(0, 0, 1)); };  // image 0
    const Tensor x = at(tr.x), h1 = at(tr.h1), q = at(tr.q), k = at(tr.k), v = at(tr.v), ctx = at(tr.ctx),
                 attn_out = at(tr.attn_out), y = at(tr.y), h2 = at(tr.h2), f1 = at(tr.f1), mlp_out = at(tr.mlp_out);
    // MLP half: y + fc2(GELU(fc1(norm2(y))))
    auto [r_res, r_mlp] = relevance_add(R, y, mlp_out);
    r_mlp = relevance_linear(relevance_linear(r_mlp, f1, blk.fc2.weight), h2, blk.fc1.weight);
    R = relevance_fan_out(y, r_res, r_mlp);
    // attention half: x + proj(A · v)
    auto [r_res2, r_att] = relevance_add(R, x, attn_out);
    r_att = relevance_linear(r_att, ctx, blk.proj.weight).reshape({1, T, H, dh}).transpose(1, 2).contiguous();
    const Tensor A = f64(out.attentions[l].narrow(0, 0, 1));  // (1, H, T, T)
    const Tensor S1 = safe_divide(r_att, matmul(A, v));       // Z = A · v
    const Tensor r_a = mul(mul(A, matmul(S1, v.transpose(2, 3))), 0.5);
    const Tensor r_v = mul(mul(v, matmul(A.transpose(2, 3), S1)), 0.5);
    rel[l] = r_a.select(0, 0).contiguous();
    // softmax and the scale pass relevance unchanged; Z = q · kᵀ
    const Tensor S2 = safe_divide(r_a, matmul(q, k.transpose(2, 3)));
    const Tensor r_q = mul(mul(q, matmul(S2, k)), 0.5), r_k = mul(mul(k, matmul(S2.transpose(2, 3), q)), 0.5);
    // back into qkv's output layout (B, T, 3, H, d) -> (B, T, 3D)
    const Tensor r_qkv = stack({r_q, r_k, r_v}, 0).permute({1, 3, 0, 2, 4}).contiguous().reshape({1, T, 3 * D});
    const Tensor r_branch = relevance_linear(r_qkv, h1, blk.qkv.weight);
    R = relevance_fan_out(x, r_res2, r_branch);
  }
  if (input_relevance) *input_relevance = R;
  return rel;
}

}  // namespace ha::xai
