// Transformer-Attribution's LRP rules (Chefer et al., CVPR 2021) as the released code computes them
// (docs/definitions.md §5b), written once for every transformer family's relevance pass (xai/vit_lrp.h,
// xai/gpt_neox_lrp.h). Relevance starts as the one-hot target at the head and flows back through the traced forward
// pass, one rule per kind of operation:
//   Linear (head, qkv, proj, MLP)       alpha 1, beta 0, bias ignored: S = R / (x⁺W⁺ᵀ + x⁻W⁻ᵀ),
//                                       R_in = x⁺ ⊙ (S W⁺) + x⁻ ⊙ (S W⁻)
//   a product Z = f(a, b) (A·v, q·kᵀ)   S = R / Z, each operand: operand ⊙ ∂⟨S, Z⟩/∂operand, then halved
//   residual add y = a + b              ra = a ⊙ S, rb = b ⊙ S (S = R / y), each rescaled so their sums split ΣR
//                                       in proportion |Σra| : |Σrb|
//   fan-out of x into n uses            R_x = x ⊙ Σ_i (R_i / x)
//   pooling one token                   R at that token: x ⊙ (R / x)
//   LayerNorm, GELU, softmax, its scale, a causal mask, rotary, reshapes: unchanged
// every division being the released safe_divide: a / (b + 1e-9) where b ≠ 0, and 0 where b = 0. All float64.
#pragma once
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace ha::xai {

Tensor safe_divide(const Tensor& a, const Tensor& b);
Tensor relevance_linear(const Tensor& R, const Tensor& x, const Tensor& weight);
std::pair<Tensor, Tensor> relevance_add(const Tensor& R, const Tensor& a, const Tensor& b);
Tensor relevance_fan_out(const Tensor& x, const std::vector<Tensor>& parts);
// Z = A · v (..., T, T)·(..., T, d): the relevance of A and of v, each halved.
std::pair<Tensor, Tensor> relevance_matmul(const Tensor& R, const Tensor& A, const Tensor& v);
// Z = q · kᵀ: the relevance of q and of k, each halved.
std::pair<Tensor, Tensor> relevance_scores(const Tensor& R, const Tensor& q, const Tensor& k);
// A tensor on the CPU in float64, detached: what the rules compute on.
Tensor f64(const Tensor& t);

}  // namespace ha::xai
