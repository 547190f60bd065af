// Transformer-Attribution's relevance pass (Chefer et al., CVPR 2021) as the released code computes it
// (docs/definitions.md §5b): relevance starts as the one-hot target at the head and flows back through the
// traced forward pass, one rule per kind of operation:
//   Linear (head, qkv, proj, fc1, fc2)  alpha 1, beta 0, bias ignored: S = R / (x⁺W⁺ᵀ + x⁻W⁻ᵀ),
//                                       R_in = x⁺ ⊙ (S W⁺) + x⁻ ⊙ (S W⁻)
//   a product Z = f(a, b) (A·v, q·kᵀ)   S = R / Z, each operand: operand ⊙ ∂⟨S, Z⟩/∂operand, then halved
//   residual add y = a + b              ra = a ⊙ S, rb = b ⊙ S (S = R / y), each rescaled so their sums split ΣR
//                                       in proportion |Σra| : |Σrb|
//   fan-out of x into two uses          R_x = x ⊙ (R1 / x + R2 / x)
//   cls pooling                         R at token 0: x₀ ⊙ (R / x₀)
//   LayerNorm, GELU, softmax, the 1/√d scale, reshapes: unchanged
// every division being the released safe_divide: a / (b + 1e-9) where b ≠ 0, and 0 where b = 0.
#pragma once
#include <vector>

#include "models/vision_transformer.h"

namespace ha::xai {

// The relevance R_l reaching every block's attention probabilities (heads, T, T), float64, for image 0 of a
// forward pass run with trace = true. Also returns, through `input_relevance`, what reaches the first block's
// input (the rules conserve the total: it sums to about 1).
std::vector<Tensor> attention_relevance(const VisionTransformer& model, const VitOutput& out, int64_t target,
                                        Tensor* input_relevance = nullptr);

// The rules, exposed for tests (float64 tensors).
Tensor safe_divide(const Tensor& a, const Tensor& b);
Tensor relevance_linear(const Tensor& R, const Tensor& x, const Tensor& weight);

}  // namespace ha::xai
