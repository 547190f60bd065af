// Mamba language models, Mamba-1 and Mamba-2, as the released checkpoints define them (docs/definitions.md §9):
//   r = embedding[ids];  r += mixer_l(RMSNorm_l(r)) for each layer;  logits = lm_head(RMSNorm_f(r))
// with lm_head the embedding itself when tied. Parameter names are the state-spaces layout's
// (backbone.embedding.weight, backbone.layers.N.{norm,mixer}.*, backbone.norm_f.weight, lm_head.weight).
// forward() runs the whole sequence at once (and records the graph when asked); the recurrent form used for
// generation is in models/lm_generate.h.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nn/layers.h"
#include "nn/mamba2_mixer.h"
#include "nn/mamba_mixer.h"

namespace ha {

enum class LmFamily { Mamba1, Mamba2 };
const char* lm_family_name(LmFamily f);  // "mamba1" | "mamba2"

struct LmConfig {
  LmFamily family = LmFamily::Mamba1;
  int64_t d_model = 768, n_layer = 24, vocab = 50280;  // vocab: the embedding's rows (padded vocabularies included)
  int64_t d_inner = 1536, d_state = 16, d_conv = 4;
  int64_t dt_rank = 48;                 // Mamba-1
  int64_t nheads = 24, ngroups = 1;     // Mamba-2
  double eps = 1e-5;                    // every RMSNorm (blocks, norm_f, Mamba-2's gated norm)
  bool tied = true;                     // lm_head is the embedding
  // A sequence classifier (docs/definitions.md §11): the head maps the last token's state to `labels` classes, as
  // Hugging Face's score.weight (labels, D) without bias, or as MambaLRP's released classifier, an lm_head.weight
  // with `labels` rows and an lm_head.bias (head_bias). 0: a language model.
  int64_t labels = 0;
  bool head_bias = false;
  int64_t head_rows() const { return labels > 0 ? labels : vocab; }
  std::string describe() const;
  nn::MambaConfig mamba1() const;
  nn::Mamba2Config mamba2() const;
};

// What hidden attention reads from each layer's mixer (one of the two is filled, by family).
struct LmLayerTrace {
  nn::MixerTrace mamba1;
  nn::Mamba2Trace mamba2;
};

struct LmForwardOptions {
  bool trace = false;               // fill LmOutput::traces
  bool retain_block_grads = false;  // retain_grad() on every mixer output
  bool embeddings_require_grad = false;  // make LmOutput::embeddings a leaf that collects ∂/∂e
  // The logits outside the autograd graph: a caller that differentiates one logit takes it from `hidden` (the
  // head's backward for all T·V logits would cost as much as its forward).
  bool detach_logits = false;
  // Keep no mixer's graph between the passes: each mixer runs again in the backward (autograd/checkpoint.h), so a
  // long input's memory holds the residual stream, not every mixer's intermediates.
  bool recompute_mixers = false;
};

struct LmOutput {
  Tensor logits;                       // (B, T, V), a classifier's (B, T, labels)
  Tensor hidden;                       // (B, T, D) what the head reads: norm_f of the last residual
  Tensor embeddings;                   // (B, T, D) the looked-up token embeddings
  std::vector<Tensor> mixer_outputs;   // (B, T, D) per layer
  std::vector<LmLayerTrace> traces;    // per layer, when options.trace
};

class LmBlock : public nn::Module {
 public:
  explicit LmBlock(const LmConfig& c);
  Tensor mix(const Tensor& h, LmLayerTrace* trace) const;  // the mixer on the normalised residual
  nn::RMSNorm norm;
  std::unique_ptr<nn::MambaMixer> mixer1;
  std::unique_ptr<nn::Mamba2Mixer> mixer2;
};

class MambaLM : public nn::Module {
 public:
  explicit MambaLM(const LmConfig& config);
  LmOutput forward(const Tensor& ids, const LmForwardOptions& options = {}) const;  // ids int64 (B, T) or (T)
  const LmConfig& config() const { return cfg_; }
  const Tensor& head_weight() const { return cfg_.tied ? embedding : lm_head; }
  // The logit of row `index` of the head for a state h (D): h · W[index] (+ the bias of MambaLRP's classifiers).
  Tensor head_logit(const Tensor& h, int64_t index) const;

  Tensor embedding, lm_head, lm_head_bias;  // lm_head undefined when tied; a classifier's score.weight is lm_head
  std::vector<std::unique_ptr<LmBlock>> layers;
  nn::RMSNorm norm_f;

 private:
  struct Named : nn::Module {
    void add(const std::string& name, nn::Module& m) { register_module(name, m); }
    Tensor param(const std::string& name, const Shape& shape) { return register_parameter(name, shape); }
  };
  Named backbone_, layers_holder_;
  LmConfig cfg_;
};

}  // namespace ha
