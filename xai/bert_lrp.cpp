#include "xai/bert_lrp.h"

#include "ops/ops.h"

namespace ha::xai {

std::vector<Tensor> bert_attention_relevance(const BertClassifier& model, const BertOutput& out, int64_t target) {
  NoGradGuard ng;
  const BertConfig& c = model.config();
  HATTN_CHECK(out.traces.size() == model.layers.size() && out.attentions.size() == model.layers.size(),
              "bert_attention_relevance: the forward pass was run without traces and attentions");
  const int64_t T = out.hidden.size(1), D = c.d_model, H = c.heads, hd = c.head_dim();
  HATTN_CHECK(target >= 0 && target < c.labels, "bert_attention_relevance: class ", target, " out of range");
  Tensor one_hot = Tensor::zeros({1, c.labels}, DType::F64);
  one_hot.data<double>()[target] = 1.0;
  const Tensor pooled = f64(out.pooled.narrow(0, 0, 1)), first = f64(out.pooler_in.narrow(0, 0, 1));  // (1, D)
  const Tensor r_first = relevance_linear(relevance_linear(one_hot, pooled, model.classifier.weight), first,
                                          model.pooler.weight);
  Tensor R = Tensor::zeros({T, D}, DType::F64);  // the [CLS] pooling
  raw::narrow(R, 0, 0, 1).copy_(mul(first, safe_divide(r_first, first)));
  std::vector<Tensor> rel(c.n_layer);
  for (int64_t l = c.n_layer - 1; l >= 0; --l) {
    const BertLayer& layer = *model.layers[l];
    const BertLayerTrace& tr = out.traces[l];
    auto at = [](const Tensor& t) { return f64(t.select(0, 0)); };  // batch item 0
    const Tensor x = at(tr.x), q = at(tr.q), k = at(tr.k), v = at(tr.v), ctx = at(tr.ctx),
                 attn_dense = at(tr.attn_dense), h = at(tr.h), f1 = at(tr.f1), mlp_out = at(tr.mlp_out);
    auto [r_mlp, r_h] = relevance_add(R, mlp_out, h);
    r_mlp = relevance_linear(relevance_linear(r_mlp, f1, layer.output_dense.weight), h, layer.intermediate.weight);
    auto [r_att, r_x] = relevance_add(relevance_fan_out(h, {r_mlp, r_h}), attn_dense, x);
    r_att = relevance_linear(r_att, ctx, layer.attention_dense.weight).reshape({T, H, hd}).transpose(0, 1);
    const Tensor A = f64(out.attentions[l].select(0, 0));
    const auto [r_a, r_v] = relevance_matmul(r_att, A, v);  // (H, T, T), (H, T, hd)
    rel[l] = r_a;
    const auto [r_q, r_k] = relevance_scores(r_a, q, k);
    auto joined = [&](const Tensor& r) { return r.transpose(0, 1).contiguous().reshape({T, D}); };  // heads together
    const Tensor r_self = relevance_fan_out(x, {relevance_linear(joined(r_q), x, layer.query.weight),
                                                relevance_linear(joined(r_k), x, layer.key.weight),
                                                relevance_linear(joined(r_v), x, layer.value.weight)});
    R = relevance_fan_out(x, {r_self, r_x});
  }
  return rel;
}

}  // namespace ha::xai
