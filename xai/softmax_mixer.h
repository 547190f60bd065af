// A transformer block's token mixer as the explanation core sees it (xai/explainable.h): its softmax attention,
// one matrix per head, with the gradient of the explained logit at those probabilities and, where a family runs
// Transformer-Attribution's relevance pass, the relevance reaching them. Shared by every transformer family.
#pragma once
#include "xai/explainable.h"

namespace ha::xai {

class SoftmaxMixer final : public MixerOperator {
 public:
  // attn (H, T, T) on the CPU; grad ∂target/∂A (float) and relevance (double) the same shape, or undefined.
  SoftmaxMixer(Tensor attn, Tensor grad, Tensor relevance, std::string what);
  int64_t channels() const override { return attn_.size(0); }
  int64_t tokens() const override { return attn_.size(1); }
  Tensor matrices(int64_t c0, int64_t c1, const std::string& part) const override;
  Tensor rows(int64_t q, RowKind kind) const override;
  Tensor matrix_grad() const override { return grad_; }
  Tensor matrix_relevance() const override { return relevance_; }
  std::vector<std::pair<std::string, Tensor>> factors() const override { return {{"attn", attn_}}; }

 protected:
  MixerStats compute_stats() const override;

 private:
  Tensor attn_, grad_, relevance_;
  std::string what_;  // "a ViT block", "a GPT-NeoX layer": for the refusals
};

// One mixer per layer from a forward pass's attention probabilities (B, H, T, T), batch item 0: with their
// gradients when `gradients` (each must have one) and the relevance per layer when given (else none).
std::vector<std::shared_ptr<const MixerOperator>> softmax_mixers(const std::vector<Tensor>& attentions, bool gradients,
                                                                 const std::vector<Tensor>& relevance,
                                                                 const std::string& what);

// What a text transformer family (GPT-NeoX, BERT) declares alike: softmax attention per head, the methods raw,
// rollout, attr, gae and the baselines, start layer 0 (the released text notebooks'), and the refusals of Mamba's
// methods; `name` names the model in them.
void set_text_transformer_info(FamilyInfo& f, const std::string& name, int64_t layers, int64_t heads, int64_t vocab);

}  // namespace ha::xai
