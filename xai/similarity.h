// Oversmoothing (the paper's App. A): how alike a block's tokens have become. For a block's token stream X
// (T, D), the mean over ordered pairs i ≠ j of cos(X_i, X_j). For Vision Mamba the stream after block l is the
// residual r + h_l = tokens + Σ_{k ≤ l} h_k; for a ViT it is the block's output.
#pragma once
#include <vector>

#include "tensor/tensor.h"

namespace ha::xai {

// X (T, D) -> the mean pairwise cosine similarity of its rows (T >= 2). Computed in float64.
double mean_pairwise_cosine(const Tensor& X);

// Per block, for one image: `streams` are (1, T, D) token streams after each block.
std::vector<double> stream_similarity(const std::vector<Tensor>& streams);

}  // namespace ha::xai
