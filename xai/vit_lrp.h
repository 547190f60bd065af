// Transformer-Attribution's relevance pass (Chefer et al., CVPR 2021) through a ViT / DeiT, as the released code
// computes it (docs/definitions.md §5b), with the rules of xai/transformer_lrp.h: the head, cls pooling (token 0),
// then per block, last first, the MLP half (y + fc2(GELU(fc1(norm2 y)))) and the attention half
// (x + proj(A · v)), each a residual add and a fan-out of its input.
#pragma once
#include <vector>

#include "models/vision_transformer.h"
#include "xai/transformer_lrp.h"

namespace ha::xai {

// The relevance R_l reaching every block's attention probabilities (heads, T, T), float64, for image 0 of a
// forward pass run with trace = true. Also returns, through `input_relevance`, what reaches the first block's
// input (the rules conserve the total: it sums to about 1).
std::vector<Tensor> attention_relevance(const VisionTransformer& model, const VitOutput& out, int64_t target,
                                        Tensor* input_relevance = nullptr);

}  // namespace ha::xai
