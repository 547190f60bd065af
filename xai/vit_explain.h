// The explanation methods for ViT / DeiT, as the released Transformer-Explainability code computes them
// (docs/definitions.md §5b): cls = token 0; a map is row 0 of a T×T matrix over the patch tokens, reshaped G×G.
//   raw      the head mean of the last block's attention probabilities
//   rollout  Ā_l = head mean of A_l; M_l = I + Ā_l, rows normalised; J = M_last ⋯ M_start; row 0
//   gae      (Chefer, ICCV 2021) R = I; per block R ← R + mean_h max(∇A_l ⊙ A_l, 0) · R; row 0
//   random, saliency, gradxinput as for Vim
//   attr     Transformer-Attribution (CVPR 2021): R_l = the relevance at A_l by the released LRP rules
//            (xai/vit_lrp.h); cam_l = mean_h max(∇A_l ⊙ R_l, 0); rollout of cam_l from start_layer; row 0
#pragma once
#include <vector>

#include "models/vision_transformer.h"
#include "xai/explain.h"

namespace ha::xai {

struct VitExplainContext {
  VitConfig cfg;
  Tensor input;                     // (1, 3, H, W), normalised
  Tensor logits;                    // (1, classes)
  int64_t target = 0;
  std::vector<Tensor> attn;         // per block: A_l (heads, T, T), CPU
  std::vector<Tensor> attn_grads;   // per block: d logit[target] / d A_l (heads, T, T), CPU
  std::vector<Tensor> attn_relevance;  // per block: the LRP relevance at A_l (heads, T, T), float64; empty if distilled
  Tensor input_grad;                // (3, H, W)
};

// One forward and backward pass (target < 0: the argmax); with_relevance: also the relevance pass that only
// `attr` reads (about the cost of another backward).
VitExplainContext run_vit_explain_pass(const VisionTransformer& model, const Tensor& input, int64_t target = -1,
                                       bool with_relevance = true);

std::vector<Method> vit_methods();  // raw, rollout, attr, gae, random, saliency, gradxinput
int64_t vit_default_start_layer();  // 1

// The G×G map (float32) of one method; start_layer applies to rollout.
Tensor explain_vit(const VitExplainContext& ctx, Method method, int64_t start_layer = -1, uint64_t seed = 0);

}  // namespace ha::xai
