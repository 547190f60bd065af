#include "models/bert.h"

#include <cmath>
#include <limits>

#include "tensor/error.h"

namespace ha {

std::string BertConfig::describe() const {
  return str("BERT classifier D=", d_model, " layers=", n_layer, " heads=", heads, " mlp=", d_ff, " vocab=", vocab,
             " positions=", max_positions, " labels=", labels);
}

BertLayer::BertLayer(const BertConfig& c)
    : query(c.d_model, c.d_model, true), key(c.d_model, c.d_model, true), value(c.d_model, c.d_model, true),
      attention_dense(c.d_model, c.d_model, true), intermediate(c.d_model, c.d_ff, true),
      output_dense(c.d_ff, c.d_model, true), attention_norm(c.d_model, c.eps), output_norm(c.d_model, c.eps), cfg_(c) {
  self_.add("query", query);
  self_.add("key", key);
  self_.add("value", value);
  attention_output_.add("dense", attention_dense);
  attention_output_.add("LayerNorm", attention_norm);
  attention_.add("self", self_);
  attention_.add("output", attention_output_);
  register_module("attention", attention_);
  intermediate_.add("dense", intermediate);
  register_module("intermediate", intermediate_);
  output_.add("dense", output_dense);
  output_.add("LayerNorm", output_norm);
  register_module("output", output_);
}

Tensor BertLayer::operator()(const Tensor& x, const Tensor& mask, Tensor* attn, BertLayerTrace* trace) const {
  const int64_t B = x.size(0), T = x.size(1), D = cfg_.d_model, H = cfg_.heads, hd = cfg_.head_dim();
  auto heads = [&](const Tensor& t) { return t.reshape({B, T, H, hd}).transpose(1, 2); };  // (B, H, T, hd)
  const Tensor q = heads(query(x)), k = heads(key(x)), v = heads(value(x));
  Tensor scores = mul(matmul(q, k.transpose(2, 3)), 1.0 / std::sqrt(double(hd)));
  if (mask.defined()) scores = add(scores, mask);
  const Tensor a = softmax(scores, 3);
  if (attn) *attn = a;
  const Tensor ctx = matmul(a, v).transpose(1, 2).reshape({B, T, D});
  const Tensor attn_dense = attention_dense(ctx);
  const Tensor y = add(attn_dense, x);
  const Tensor h = attention_norm(y);
  const Tensor f1 = gelu(intermediate(h));
  const Tensor mlp_out = output_dense(f1);
  const Tensor z = add(mlp_out, h);
  if (trace) *trace = {x, q, k, v, ctx, attn_dense, y, h, f1, mlp_out};
  return output_norm(z);
}

BertClassifier::BertClassifier(const BertConfig& c)
    : embeddings_norm(c.d_model, c.eps), pooler(c.d_model, c.d_model, true), classifier(c.d_model, c.labels, true),
      cfg_(c) {
  HATTN_CHECK(c.d_model > 0 && c.n_layer > 0 && c.vocab > 0 && c.heads > 0 && c.d_model % c.heads == 0 &&
                  c.labels > 0 && c.max_positions > 0 && c.type_vocab > 0,
              "BERT: invalid configuration: ", c.describe());
  word_embeddings = embeddings_.param("word_embeddings.weight", {c.vocab, c.d_model});
  position_embeddings = embeddings_.param("position_embeddings.weight", {c.max_positions, c.d_model});
  token_type_embeddings = embeddings_.param("token_type_embeddings.weight", {c.type_vocab, c.d_model});
  embeddings_.add("LayerNorm", embeddings_norm);
  bert_.add("embeddings", embeddings_);
  for (int64_t i = 0; i < c.n_layer; ++i) {
    layers.push_back(std::make_unique<BertLayer>(c));
    layers_holder_.add(std::to_string(i), *layers.back());
  }
  encoder_.add("layer", layers_holder_);
  bert_.add("encoder", encoder_);
  pooler_.add("dense", pooler);
  bert_.add("pooler", pooler_);
  register_module("bert", bert_);
  register_module("classifier", classifier);
}

int64_t BertClassifier::parameter_count() const {
  int64_t n = 0;
  for (const auto& [name, p] : named_parameters()) n += p.numel();
  return n;
}

BertOutput BertClassifier::forward(const Tensor& ids_in, const Tensor& attention_mask,
                                   const BertForwardOptions& options) const {
  HATTN_CHECK(ids_in.dtype() == DType::I64 && (ids_in.dim() == 1 || ids_in.dim() == 2) && ids_in.numel() > 0,
              "BERT: expected int64 token ids of shape (T) or (B, T), got ", describe(ids_in));
  const Tensor ids = ids_in.dim() == 1 ? ids_in.reshape({1, ids_in.size(0)}) : ids_in;
  const int64_t B = ids.size(0), T = ids.size(1), D = cfg_.d_model;
  HATTN_CHECK_INPUT(T <= cfg_.max_positions, "BERT: ", T, " tokens, more than the model's ", cfg_.max_positions,
                    " positions");
  const Device dev = word_embeddings.device();
  BertOutput out;
  const Tensor types = Tensor::from_vector(std::vector<int64_t>(T, 0), {T});
  std::vector<int64_t> pos(T);
  for (int64_t t = 0; t < T; ++t) pos[t] = t;
  Tensor w = index_select(word_embeddings, 0, ids.to(Device::cpu()).reshape({B * T})).reshape({B, T, D});
  if (options.embeddings_require_grad) {
    w = w.detach();
    w.requires_grad_(true);
  }
  out.embeddings = w;
  const Tensor e = add(add(w, index_select(position_embeddings, 0, Tensor::from_vector(pos, {T}))),
                       index_select(token_type_embeddings, 0, types));  // token type 0 everywhere
  Tensor mask;
  if (attention_mask.defined()) {
    HATTN_CHECK_INPUT(attention_mask.dim() == 2 && attention_mask.size(0) == B && attention_mask.size(1) == T,
                      "BERT: an attention mask of ", describe(attention_mask), " for ids of ", describe(ids));
    const std::vector<double> m = attention_mask.to(Device::cpu()).to(DType::F64).contiguous().to_vector<double>();
    std::vector<float> add_mask(m.size());
    for (size_t i = 0; i < m.size(); ++i) add_mask[i] = m[i] != 0 ? 0.0f : std::numeric_limits<float>::lowest();
    mask = Tensor::from_vector(add_mask, {B, 1, 1, T}).to(dev);
  }
  Tensor x = embeddings_norm(e);
  if (options.trace) out.traces.resize(cfg_.n_layer);
  for (int64_t l = 0; l < cfg_.n_layer; ++l) {
    Tensor a;
    x = (*layers[l])(x, mask, options.attentions || options.retain_attention_grads ? &a : nullptr,
                     options.trace ? &out.traces[l] : nullptr);
    if (options.retain_attention_grads && a.requires_grad()) a.retain_grad();
    if (a.defined()) out.attentions.push_back(a);
    out.block_outputs.push_back(x);
  }
  out.hidden = x;
  out.pooler_in = x.select(1, 0);
  out.pooled = tanh(pooler(out.pooler_in));
  out.logits = classifier(out.pooled);
  return out;
}

}  // namespace ha
