// BERT for sequence classification (Hugging Face's BertForSequenceClassification), the text transformer the paper
// sets beside a Mamba classifier on IMDb (docs/definitions.md §11). Post-norm blocks:
//   embeddings  e = LayerNorm(word[id] + position[t] + token_type[0])
//   per layer   y = LayerNorm(x + dense(softmax(q kᵀ/√hd + mask) v)),   q, k, v = Linear(x) split per head
//               z = LayerNorm(y + dense₂(GELU(dense₁(y))))
//   pooler      p = tanh(Linear(z[0]))             (the [CLS] state)
//   classifier  logits = Linear(p)
// The padding mask (attention_mask 0) adds float's lowest value to the scores of padded keys, as Hugging Face does.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nn/layers.h"
#include "nn/module.h"

namespace ha {

struct BertConfig {
  int64_t vocab = 30522, d_model = 768, n_layer = 12, heads = 12, d_ff = 3072, max_positions = 512, type_vocab = 2;
  int64_t labels = 2;
  double eps = 1e-12;
  int64_t head_dim() const { return d_model / heads; }
  std::string describe() const;
};

struct BertForwardOptions {
  bool attentions = false;              // keep each layer's attention probabilities (B, H, T, T)
  bool retain_attention_grads = false;  // retain_grad() on them
  bool embeddings_require_grad = false;  // the looked-up word embeddings a leaf that collects ∂/∂e
  bool trace = false;                    // fill BertOutput::traces (what Transformer-Attribution reads)
};

// One layer's intermediate tensors: its input, q, k, v (B, H, T, hd), the heads' outputs side by side (B, T, D), the
// attention's dense output, the first sum and its LayerNorm, the MLP's activation and output.
struct BertLayerTrace {
  Tensor x, q, k, v, ctx, attn_dense, y, h, f1, mlp_out;
};

struct BertOutput {
  Tensor logits;                      // (B, labels)
  Tensor pooled;                      // (B, D) tanh(dense(z[:, 0]))
  Tensor pooler_in;                   // (B, D) the last layer's [CLS] state
  Tensor hidden;                      // (B, T, D) the last layer's output
  Tensor embeddings;                  // (B, T, D) the word embeddings looked up (inputs_embeds)
  std::vector<Tensor> attentions;     // (B, H, T, T) per layer, when asked
  std::vector<Tensor> block_outputs;  // (B, T, D) per layer
  std::vector<BertLayerTrace> traces;
};

class BertLayer : public nn::Module {
 public:
  explicit BertLayer(const BertConfig& c);
  // x (B, T, D); mask (B, 1, 1, T) additive or undefined.
  Tensor operator()(const Tensor& x, const Tensor& mask, Tensor* attn, BertLayerTrace* trace = nullptr) const;
  nn::Linear query, key, value, attention_dense, intermediate, output_dense;
  nn::LayerNorm attention_norm, output_norm;

 private:
  BertConfig cfg_;
  struct Named : nn::Module {
    void add(const std::string& name, nn::Module& m) { register_module(name, m); }
  } attention_, self_, attention_output_, intermediate_, output_;
};

class BertClassifier : public nn::Module {
 public:
  explicit BertClassifier(const BertConfig& c);
  // ids (T) or (B, T); attention_mask (B, T) of 0/1 (int64 or float), or undefined: every token attended.
  BertOutput forward(const Tensor& ids, const Tensor& attention_mask = {}, const BertForwardOptions& options = {}) const;
  const BertConfig& config() const { return cfg_; }
  int64_t parameter_count() const;

  Tensor word_embeddings, position_embeddings, token_type_embeddings;
  nn::LayerNorm embeddings_norm;
  std::vector<std::unique_ptr<BertLayer>> layers;
  nn::Linear pooler, classifier;

 private:
  BertConfig cfg_;
  struct Named : nn::Module {
    void add(const std::string& name, nn::Module& m) { register_module(name, m); }
    Tensor param(const std::string& name, const Shape& shape) { return register_parameter(name, shape); }
  } bert_, embeddings_, encoder_, layers_holder_, pooler_;
};

}  // namespace ha
