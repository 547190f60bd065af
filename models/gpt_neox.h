// GPT-NeoX (the Pythia models), the transformer language model the paper sets beside Mamba, in Hugging Face's
// layout (docs/definitions.md §10): token embedding; per layer, pre-norm attention with rotary position embedding
// on the first rotary_pct of each head's dimensions and an MLP (GELU), both read from the layer's input and added
// to it together (use_parallel_residual; else one after the other); a final LayerNorm and an untied head.
//   attention: qkv = W x + b viewed (T, H, 3·hd) → q, k, v (H, T, hd); rotary on q, k; causal softmax(q kᵀ/√hd)
//   rotary (dims r = hd·rotary_pct, position t, i < r/2): θ_i = base^(−2i/r); x' = x cos(tθ) + rotate_half(x) sin(tθ)
//   with the angle of dim i and i + r/2 both tθ_i and rotate_half(x) = (−x[r/2:r], x[0:r/2])
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nn/layers.h"
#include "nn/module.h"

namespace ha {

struct GptNeoxConfig {
  int64_t vocab = 50304, d_model = 768, n_layer = 12, heads = 12, d_ff = 3072;
  double rotary_pct = 0.25, rotary_base = 10000, eps = 1e-5;
  bool parallel_residual = true;
  bool attention_bias = true;  // query_key_value and dense carry biases
  int64_t max_positions = 2048;
  // > 0: a sequence classifier (GPTNeoXForSequenceClassification): the head is score.weight (labels, D), no bias,
  // read at the last token (docs/definitions.md §11); 0: a language model with embed_out
  int64_t labels = 0;
  int64_t head_rows() const { return labels > 0 ? labels : vocab; }
  int64_t head_dim() const { return d_model / heads; }
  int64_t rotary_dims() const { return static_cast<int64_t>(double(head_dim()) * rotary_pct); }
  std::string describe() const;
};

struct GptNeoxForwardOptions {
  bool attentions = false;             // keep each layer's attention probabilities (B, H, T, T)
  bool retain_attention_grads = false;  // retain_grad() on them (∂/∂A: gae, Transformer-Attribution)
  bool retain_block_grads = false;      // retain_grad() on each layer's output
  bool embeddings_require_grad = false;  // the looked-up embeddings a leaf that collects ∂/∂e
  bool detach_logits = false;            // the logits outside the graph (a caller differentiates from `hidden`)
  bool trace = false;                    // fill GptNeoxOutput::traces (what Transformer-Attribution reads)
  bool logits = true;                    // false: `hidden` only (a caller that needs one position's logits)
};

// One layer's intermediate tensors (batch dims as the forward's): its input, the branches' normalised inputs,
// the rotated q and k and v (B, H, T, hd), the heads' outputs side by side (B, T, D), the attention and MLP
// outputs, the MLP's activation, and for the sequential form the sum after the attention.
struct GptNeoxLayerTrace {
  Tensor x, h1, q, k, v, ctx, attn_out, y, h2, f1, mlp_out;
};

struct GptNeoxOutput {
  Tensor logits;                      // (B, T, V), a classifier's (B, T, labels)
  Tensor hidden;                      // (B, T, D) what the head reads: the final LayerNorm of the last residual
  Tensor embeddings;                  // (B, T, D)
  std::vector<Tensor> attentions;     // (B, H, T, T) per layer, when asked
  std::vector<Tensor> block_outputs;  // the residual stream after each layer (B, T, D)
  std::vector<GptNeoxLayerTrace> traces;  // per layer, when options.trace
};

// One layer's keys and values so far (B, H, t, hd), rotated: what generation keeps between steps.
struct KvCache {
  Tensor k, v;
  int64_t length() const { return k.defined() ? k.size(2) : 0; }
};

class GptNeoxLayer : public nn::Module {
 public:
  explicit GptNeoxLayer(const GptNeoxConfig& c);
  // x (B, T, D) at positions p0 .. p0+T−1; cos, sin (T, r) the rotary tables of those positions; mask (T, p0+T)
  // from causal_mask. `attn` receives the probabilities (B, H, T, p0+T). With `cache` (p0 = its length), the new
  // tokens also attend to the cached keys and values, and the cache grows by theirs.
  Tensor operator()(const Tensor& x, const Tensor& cos, const Tensor& sin, const Tensor& mask, Tensor* attn,
                    GptNeoxLayerTrace* trace = nullptr, KvCache* cache = nullptr) const;
  nn::LayerNorm input_layernorm, post_attention_layernorm;
  nn::Linear query_key_value, dense, dense_h_to_4h, dense_4h_to_h;

 private:
  GptNeoxConfig cfg_;
  struct Named : nn::Module {
    void add(const std::string& name, nn::Module& m) { register_module(name, m); }
  } attention_, mlp_;
};

class GptNeox : public nn::Module {
 public:
  explicit GptNeox(const GptNeoxConfig& c);
  // ids (T) or (B, T). With `cache` (one per layer, resized if empty), the tokens continue the cached ones: their
  // positions start at the cache's length (generation's prefill and steps).
  GptNeoxOutput forward(const Tensor& ids, const GptNeoxForwardOptions& options = {},
                        std::vector<KvCache>* cache = nullptr) const;
  const GptNeoxConfig& config() const { return cfg_; }
  int64_t parameter_count() const;

  Tensor embed_in, embed_out;  // (V, D) each; a classifier's embed_out is its score.weight (labels, D)
  std::vector<std::unique_ptr<GptNeoxLayer>> layers;
  nn::LayerNorm final_layer_norm;

 private:
  GptNeoxConfig cfg_;
  struct Named : nn::Module {
    void add(const std::string& name, nn::Module& m) { register_module(name, m); }
    Tensor param(const std::string& name, const Shape& shape) { return register_parameter(name, shape); }
  } backbone_, layers_holder_;  // "gpt_neox", "gpt_neox.layers"
};

// The rotary tables for positions first .. first+T−1: cos and sin (T, r), float32 on `device`.
std::pair<Tensor, Tensor> rotary_tables(const GptNeoxConfig& c, int64_t T, Device device, int64_t first = 0);
// The additive causal mask of T new rows at positions p0 .. p0+T−1 over keys 0 .. p0+T−1: 0 where a row may look,
// float's lowest value past its own position (as Hugging Face's torch.where), (T, p0+T) on `device`.
Tensor causal_mask(int64_t T, int64_t p0, Device device);
// q' = q cos + rotate_half(q) sin on the first r dims of the last axis, the rest unchanged (x (..., T, hd)).
Tensor apply_rotary(const Tensor& x, const Tensor& cos, const Tensor& sin);

}  // namespace ha
