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

}  // namespace ha::xai
