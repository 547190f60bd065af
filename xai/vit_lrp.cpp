#include "xai/vit_lrp.h"

#include <algorithm>
#include <cmath>

#include "ops/ops.h"
#include "xai/transformer_lrp.h"

namespace ha::xai {
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
    R = relevance_fan_out(y, {r_res, r_mlp});
    // attention half: x + proj(A · v)
    auto [r_res2, r_att] = relevance_add(R, x, attn_out);
    r_att = relevance_linear(r_att, ctx, blk.proj.weight).reshape({1, T, H, dh}).transpose(1, 2).contiguous();
    const Tensor A = f64(out.attentions[l].narrow(0, 0, 1));  // (1, H, T, T)
    const auto [r_a, r_v] = relevance_matmul(r_att, A, v);   // Z = A · v
    rel[l] = r_a.select(0, 0).contiguous();
    const auto [r_q, r_k] = relevance_scores(r_a, q, k);      // softmax and the scale pass it unchanged
    // back into qkv's output layout (B, T, 3, H, d) -> (B, T, 3D)
    const Tensor r_qkv = stack({r_q, r_k, r_v}, 0).permute({1, 3, 0, 2, 4}).contiguous().reshape({1, T, 3 * D});
    const Tensor r_branch = relevance_linear(r_qkv, h1, blk.qkv.weight);
    R = relevance_fan_out(x, {r_res2, r_branch});
  }
  if (input_relevance) *input_relevance = R;
  return rel;
}

}  // namespace ha::xai
