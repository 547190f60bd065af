#include "models/gpt_neox.h"

#include <cmath>
#include <limits>

#include "autograd/grad_mode.h"
#include "tensor/error.h"

namespace ha {

std::string GptNeoxConfig::describe() const {
  return str("GPT-NeoX LM D=", d_model, " layers=", n_layer, " heads=", heads, " mlp=", d_ff, " vocab=", vocab,
             " rotary=", rotary_dims(), "/", head_dim(), parallel_residual ? " parallel residual" : "",
             attention_bias ? "" : " no attention bias", labels > 0 ? str(" classifier labels=", labels) : "");
}

std::pair<Tensor, Tensor> rotary_tables(const GptNeoxConfig& c, int64_t T, Device device, int64_t first) {
  const int64_t r = c.rotary_dims(), half = r / 2;
  std::vector<float> cos_t(T * r), sin_t(T * r);
  for (int64_t i = 0; i < half; ++i) {
    // Hugging Face forms θ_i in float32; so does this (the angles t·θ_i then in double)
    const float theta = 1.0f / static_cast<float>(std::pow(c.rotary_base, double(2 * i) / double(r)));
    for (int64_t t = 0; t < T; ++t) {
      const float angle = float(first + t) * theta;
      cos_t[t * r + i] = cos_t[t * r + i + half] = std::cos(angle);
      sin_t[t * r + i] = sin_t[t * r + i + half] = std::sin(angle);
    }
  }
  return {Tensor::from_vector(cos_t, {T, r}).to(device), Tensor::from_vector(sin_t, {T, r}).to(device)};
}

Tensor apply_rotary(const Tensor& x, const Tensor& cos, const Tensor& sin) {
  const int64_t last = x.dim() - 1, hd = x.size(last), r = cos.size(1), half = r / 2;
  if (r == 0) return x;
  const Tensor rot = x.narrow(last, 0, r);
  const Tensor rotated = concat({neg(rot.narrow(last, half, half)), rot.narrow(last, 0, half)}, last);
  const Tensor out = add(mul(rot, cos), mul(rotated, sin));
  return r == hd ? out : concat({out, x.narrow(last, r, hd - r)}, last);
}

GptNeoxLayer::GptNeoxLayer(const GptNeoxConfig& c)
    : input_layernorm(c.d_model, c.eps), post_attention_layernorm(c.d_model, c.eps),
      query_key_value(c.d_model, 3 * c.d_model, c.attention_bias), dense(c.d_model, c.d_model, c.attention_bias),
      dense_h_to_4h(c.d_model, c.d_ff, true), dense_4h_to_h(c.d_ff, c.d_model, true), cfg_(c) {
  register_module("input_layernorm", input_layernorm);
  register_module("post_attention_layernorm", post_attention_layernorm);
  attention_.add("query_key_value", query_key_value);
  attention_.add("dense", dense);
  register_module("attention", attention_);
  mlp_.add("dense_h_to_4h", dense_h_to_4h);
  mlp_.add("dense_4h_to_h", dense_4h_to_h);
  register_module("mlp", mlp_);
}

Tensor causal_mask(int64_t T, int64_t p0, Device device) {
  const int64_t S = p0 + T;
  std::vector<float> m(T * S, 0.0f);
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = p0 + i + 1; j < S; ++j) m[i * S + j] = std::numeric_limits<float>::lowest();
  return Tensor::from_vector(m, {T, S}).to(device);
}

Tensor GptNeoxLayer::operator()(const Tensor& x, const Tensor& cos, const Tensor& sin, const Tensor& mask,
                                Tensor* attn, GptNeoxLayerTrace* trace, KvCache* cache) const {
  const int64_t B = x.size(0), T = x.size(1), D = cfg_.d_model, H = cfg_.heads, hd = cfg_.head_dim();
  // (B, T, 3D) viewed (B, T, H, 3·hd): each head's q, k, v side by side
  const Tensor h1 = input_layernorm(x);
  const Tensor qkv = query_key_value(h1).reshape({B, T, H, 3 * hd});
  const Tensor q = apply_rotary(qkv.narrow(3, 0, hd).transpose(1, 2), cos, sin);  // (B, H, T, hd)
  Tensor k = apply_rotary(qkv.narrow(3, hd, hd).transpose(1, 2), cos, sin);
  Tensor v = qkv.narrow(3, 2 * hd, hd).transpose(1, 2);
  if (cache) {  // keys: the cached ones, then these
    if (cache->length() > 0) k = concat({cache->k, k}, 2), v = concat({cache->v, v}, 2);
    cache->k = k.contiguous(), cache->v = v.contiguous();
  }
  HATTN_CHECK(mask.dim() == 2 && mask.size(0) == T && mask.size(1) == k.size(2), "GPT-NeoX layer: a mask of ",
              describe(mask), " for ", T, " rows over ", k.size(2), " keys");
  const Tensor scores = mul(matmul(q, k.transpose(2, 3)), 1.0 / std::sqrt(double(hd)));
  const Tensor a = softmax(add(scores, mask), 3);  // (B, H, T, S)
  if (attn) *attn = a;
  const Tensor ctx = matmul(a, v).transpose(1, 2).reshape({B, T, D});
  const Tensor attn_out = dense(ctx);
  const Tensor y = cfg_.parallel_residual ? Tensor() : add(attn_out, x);
  const Tensor h2 = post_attention_layernorm(cfg_.parallel_residual ? x : y);
  const Tensor f1 = gelu(dense_h_to_4h(h2));
  const Tensor mlp_out = dense_4h_to_h(f1);
  if (trace) *trace = {x, h1, q, k, v, ctx, attn_out, y, h2, f1, mlp_out};
  return cfg_.parallel_residual ? add(add(mlp_out, attn_out), x) : add(mlp_out, y);
}

GptNeox::GptNeox(const GptNeoxConfig& c) : final_layer_norm(c.d_model, c.eps), cfg_(c) {
  HATTN_CHECK(c.d_model > 0 && c.n_layer > 0 && c.vocab > 0 && c.heads > 0 && c.d_model % c.heads == 0 &&
                  c.rotary_dims() % 2 == 0 && c.rotary_pct >= 0 && c.rotary_pct <= 1,
              "GPT-NeoX: invalid configuration: ", c.describe());
  embed_in = backbone_.param("embed_in.weight", {c.vocab, c.d_model});
  for (int64_t i = 0; i < c.n_layer; ++i) {
    layers.push_back(std::make_unique<GptNeoxLayer>(c));
    layers_holder_.add(std::to_string(i), *layers.back());
  }
  backbone_.add("layers", layers_holder_);
  backbone_.add("final_layer_norm", final_layer_norm);
  register_module("gpt_neox", backbone_);
  embed_out = c.labels > 0 ? register_parameter("score.weight", {c.labels, c.d_model})
                           : register_parameter("embed_out.weight", {c.vocab, c.d_model});
}

int64_t GptNeox::parameter_count() const {
  int64_t n = 0;
  for (const auto& [name, p] : named_parameters()) n += p.numel();
  return n;
}

GptNeoxOutput GptNeox::forward(const Tensor& ids_in, const GptNeoxForwardOptions& options,
                               std::vector<KvCache>* cache) const {
  HATTN_CHECK(ids_in.dtype() == DType::I64 && (ids_in.dim() == 1 || ids_in.dim() == 2) && ids_in.numel() > 0,
              "GPT-NeoX: expected int64 token ids of shape (T) or (B, T), got ", describe(ids_in));
  const Tensor ids = ids_in.dim() == 1 ? ids_in.reshape({1, ids_in.size(0)}) : ids_in;
  const int64_t B = ids.size(0), T = ids.size(1);
  if (cache && cache->empty()) cache->resize(cfg_.n_layer);
  HATTN_CHECK(!cache || static_cast<int64_t>(cache->size()) == cfg_.n_layer, "GPT-NeoX: a cache of ",
              cache ? cache->size() : 0, " layers for ", cfg_.n_layer);
  const int64_t first = cache ? (*cache)[0].length() : 0;
  HATTN_CHECK_INPUT(first + T <= cfg_.max_positions, "GPT-NeoX: ", first + T, " tokens, more than the model's ",
                    cfg_.max_positions, " positions");
  GptNeoxOutput out;
  Tensor e = index_select(embed_in, 0, ids.to(Device::cpu()).reshape({B * T})).reshape({B, T, cfg_.d_model});
  if (options.embeddings_require_grad) {
    e = e.detach();
    e.requires_grad_(true);
  }
  out.embeddings = e;
  const auto [cos, sin] = rotary_tables(cfg_, T, embed_in.device(), first);
  const Tensor mask = causal_mask(T, first, embed_in.device());  // one for every layer
  Tensor x = e;
  if (options.trace) out.traces.resize(cfg_.n_layer);
  for (int64_t l = 0; l < cfg_.n_layer; ++l) {
    Tensor a;
    x = (*layers[l])(x, cos, sin, mask, options.attentions || options.retain_attention_grads ? &a : nullptr,
                     options.trace ? &out.traces[l] : nullptr, cache ? &(*cache)[l] : nullptr);
    if (options.retain_attention_grads && a.requires_grad()) a.retain_grad();
    if (a.defined()) out.attentions.push_back(a);
    if (options.retain_block_grads && x.requires_grad()) x.retain_grad();
    out.block_outputs.push_back(x);
  }
  out.hidden = final_layer_norm(x);
  if (!options.logits) return out;
  std::unique_ptr<NoGradGuard> no_grad = options.detach_logits ? std::make_unique<NoGradGuard>() : nullptr;
  out.logits = matmul(out.hidden, embed_out.transpose(0, 1));  // (B, T, V)
  return out;
}

}  // namespace ha
