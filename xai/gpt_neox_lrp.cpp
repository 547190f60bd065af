#include "xai/gpt_neox_lrp.h"

#include "ops/ops.h"

namespace ha::xai {

std::vector<Tensor> gpt_neox_attention_relevance(const GptNeox& model, const GptNeoxOutput& out, int64_t query,
                                                 int64_t target, Tensor* input_relevance) {
  NoGradGuard ng;
  const GptNeoxConfig& c = model.config();
  HATTN_CHECK(out.traces.size() == model.layers.size() && out.attentions.size() == model.layers.size(),
              "gpt_neox_attention_relevance: the forward pass was run without traces and attentions");
  const int64_t T = out.hidden.size(1), D = c.d_model, H = c.heads, hd = c.head_dim();
  HATTN_CHECK(query >= 0 && query < T && target >= 0 && target < c.head_rows(), "gpt_neox_attention_relevance: query ",
              query, " or target ", target, " out of range");
  // the head: one-hot relevance at the target logit, back to the query position's final state. Only the target's
  // row of the head carries relevance (every other row's share is 0 / its logit = 0), so the rule runs on that
  // row alone: the same numbers without a float64 copy of a (V, D) head (1.2 GB at Pythia-2.8B's, four times).
  const Tensor pooled = f64(out.hidden.select(0, 0).narrow(0, query, 1));  // (1, D)
  const Tensor one = Tensor::full({1, 1}, 1.0, DType::F64);
  const Tensor r_pooled = relevance_linear(one, pooled, model.embed_out.narrow(0, target, 1));
  Tensor R = Tensor::zeros({T, D}, DType::F64);  // the final LayerNorm passes it on unchanged
  raw::narrow(R, 0, query, 1).copy_(mul(pooled, safe_divide(r_pooled, pooled)));
  std::vector<Tensor> rel(c.n_layer);
  for (int64_t l = c.n_layer - 1; l >= 0; --l) {
    const GptNeoxLayer& layer = *model.layers[l];
    const GptNeoxLayerTrace& tr = out.traces[l];
    auto at = [](const Tensor& t) { return f64(t.select(0, 0)); };  // batch item 0
    const Tensor x = at(tr.x), h1 = at(tr.h1), q = at(tr.q), k = at(tr.k), v = at(tr.v), ctx = at(tr.ctx),
                 attn_out = at(tr.attn_out), h2 = at(tr.h2), f1 = at(tr.f1), mlp_out = at(tr.mlp_out);
    // parallel: (x + attn) + mlp, x's share split again; sequential: y + mlp with y = x + attn
    const Tensor y = c.parallel_residual ? add(x, attn_out) : at(tr.y);
    auto [r_y, r_mlp] = relevance_add(R, y, mlp_out);
    // the MLP: dense_4h_to_h, GELU unchanged, dense_h_to_4h, the LayerNorm unchanged
    r_mlp = relevance_linear(relevance_linear(r_mlp, f1, layer.dense_4h_to_h.weight), h2, layer.dense_h_to_4h.weight);
    auto [r_x, r_att] = relevance_add(c.parallel_residual ? r_y : relevance_fan_out(y, {r_y, r_mlp}), x, attn_out);
    // the attention: dense, then A · v and q · kᵀ (softmax, scale, mask and rotary unchanged)
    r_att = relevance_linear(r_att, ctx, layer.dense.weight).reshape({T, H, hd}).transpose(0, 1);  // (H, T, hd)
    const Tensor A = f64(out.attentions[l].select(0, 0));
    const auto [r_a, r_v] = relevance_matmul(r_att, A, v);
    rel[l] = r_a;
    const auto [r_q, r_k] = relevance_scores(r_a, q, k);
    // back into query_key_value's output layout: per head q, k, v side by side, (T, H·3·hd)
    const Tensor r_qkv = stack({r_q, r_k, r_v}, 0).permute({2, 1, 0, 3}).contiguous().reshape({T, 3 * D});
    const Tensor r_branch = relevance_linear(r_qkv, h1, layer.query_key_value.weight);
    R = c.parallel_residual ? relevance_fan_out(x, {r_x, r_branch, r_mlp}) : relevance_fan_out(x, {r_x, r_branch});
  }
  if (input_relevance) *input_relevance = R;
  return rel;
}

}  // namespace ha::xai
