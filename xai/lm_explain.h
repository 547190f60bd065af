// Explanations of a Mamba language model's prediction at a query position q (docs/definitions.md §9): which
// earlier tokens the next-token logit at q rests on. One pass (forward with traces, backward of logit_t[q]) fills
// an LmExplainContext; each method is then a function of it returning one value per token (T), clamped at 0
// (tokens after q get 0: the model is causal). F_l is layer l's hidden attention, [C, T, T] with C the channels
// (Mamba-1) or the heads (Mamba-2):
//   raw      mean over layers ≥ start of (mean over C of min-max(F_l[:, q, :]))   (min-max over the [C, T] rows)
//   rollout  row q of the rollout of the C-means of F_l (layers ≥ start)
//   attr     A_l = mean over C of min-max(max(F_l, 0)) (min-max over [C, T, T]), X_l[i,j] = A_l[i,j]·s_l[j],
//            s_l from ∂logit_t[q]/∂(layer l's mixer output); row q of the rollout
//   unified  (Mamba-1) the follow-up's gated, conv-folded row q, as for Vision Mamba's cls row, one direction
//   saliency max over D of |∂logit/∂e_j|;  gradxinput |Σ_D e_j·∂logit/∂e_j|;  random uniform [0, 1)
#pragma once
#include <memory>
#include <vector>

#include "models/mamba_lm.h"
#include "xai/explain.h"

namespace ha::xai {

struct LmExplainContext {
  LmConfig cfg;
  std::vector<int64_t> ids;
  int64_t query = 0, target = 0;
  Tensor logits;                       // (T, V)
  std::vector<LmLayerTrace> traces;    // per layer, on the CPU
  std::vector<Tensor> block_grads;     // ∂logit_t[q] / ∂(mixer output l), (T, D)
  Tensor embeddings, embedding_grad;   // (T, D) each
  // per layer, the channel means of F_l and of max(F_l, 0) and the extremes of F_l, computed on first use
  struct LayerStats {
    Tensor mean, mean_relu;  // (T, T)
    double min = 0, max = 0;
  };
  mutable std::vector<std::shared_ptr<const LayerStats>> stats_cache;
};

// query < 0: the last token; target < 0: the argmax of the logits at the query.
LmExplainContext run_lm_explain_pass(const MambaLM& model, const std::vector<int64_t>& ids, int64_t query = -1,
                                     int64_t target = -1);

int64_t default_lm_start_layer(const LmConfig& cfg);  // floor(15 · layers / 24)

// A layer's hidden attention of channels (Mamba-1) or heads (Mamba-2) [c0, c1): (c1 − c0, T, T), from its trace.
Tensor lm_attention_matrices(const LmConfig& cfg, const LmLayerTrace& trace, int64_t c0, int64_t c1);
int64_t lm_attention_channels(const LmConfig& cfg);  // C: E for Mamba-1, H for Mamba-2

// The per-token relevance (T), float32. Methods: raw, rollout, attr, unified (Mamba-1), random, saliency,
// gradxinput; options.variant does not apply.
Tensor explain_lm(const LmExplainContext& ctx, Method method, const ExplainOptions& options = {});
std::vector<Method> lm_methods(const LmConfig& cfg);  // what `all` means for this model

}  // namespace ha::xai
