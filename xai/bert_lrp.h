// Transformer-Attribution's relevance pass through a BERT classifier, as Chefer's released BERT_explainability
// code runs it (docs/definitions.md §11), with the rules of xai/transformer_lrp.h: relevance starts at the one-hot
// target class, passes the classifier (a Linear), the pooler's tanh (unchanged) and its Linear, the [CLS] pooling;
// per layer, last first: the output LayerNorm (unchanged), the add mlp_out + h, output.dense, GELU (unchanged),
// intermediate.dense, the fan-out of h into the MLP and the residual, the attention LayerNorm (unchanged), the add
// attn_dense + x, the attention's dense, A·v, the padding mask and softmax (unchanged), q·kᵀ, query/key/value, x's
// fan-out into q, k and v, and then into the attention and the residual.
#pragma once
#include <vector>

#include "models/bert.h"
#include "xai/transformer_lrp.h"

namespace ha::xai {

// The relevance R_l reaching every layer's attention probabilities (heads, T, T), float64, for batch item 0 of a
// forward pass run with trace = true and attentions = true, explaining class `target`.
std::vector<Tensor> bert_attention_relevance(const BertClassifier& model, const BertOutput& out, int64_t target);

}  // namespace ha::xai
