// Transformer-Attribution's relevance pass through GPT-NeoX (docs/definitions.md §10), with the rules of
// xai/transformer_lrp.h and the additions for a causal text transformer: relevance starts at the target logit of
// the query position (the head is a Linear without bias), reaches that position's final state, passes the final
// LayerNorm; per layer, last first, the parallel residual is two adds, (x + attn) + mlp, and x fans out into three
// uses (the residual and both branches' LayerNorms); the sequential form is two adds in order, as a ViT block. The
// rotary embedding, the causal mask and the softmax's scale pass relevance unchanged.
#pragma once
#include <vector>

#include "models/gpt_neox.h"
#include "xai/transformer_lrp.h"

namespace ha::xai {

// The relevance R_l reaching every layer's attention probabilities (heads, T, T), float64, for batch item 0 of a
// forward pass run with trace = true and attentions = true, explaining logit `target` at position `query`. Also
// returns, through `input_relevance`, what reaches the embeddings (T, D).
std::vector<Tensor> gpt_neox_attention_relevance(const GptNeox& model, const GptNeoxOutput& out, int64_t query,
                                                 int64_t target, Tensor* input_relevance = nullptr);

}  // namespace ha::xai
