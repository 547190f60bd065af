// Vision Transformer (ViT / DeiT) in timm's layout, the transformers the paper compares Vim with
// (docs/definitions.md §9): tokens = [cls, (dist,) patches] + pos_embed; per block
//   x += proj(softmax(q kᵀ / √d_head) v)   on norm1(x), q, k, v from one qkv Linear, split per head
//   x += fc2(GELU(fc1(norm2(x))))
// LayerNorm eps 1e-6; logits = head(norm(x)[0]), distilled: (head(x0) + head_dist(x1)) / 2.
// forward() returns the attention probabilities of every block (graph-connected, so their gradients can be
// kept) for the explanation methods.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nn/layers.h"

namespace ha {

struct VitConfig {
  int64_t d_model = 192, depth = 12, heads = 3, mlp_hidden = 768, patch = 16, img_size = 224, in_chans = 3;
  int64_t num_classes = 1000;
  bool distilled = false;  // DeiT's distillation token and second head
  double eps = 1e-6;

  int64_t grid() const { return img_size / patch; }
  int64_t num_patches() const { return grid() * grid(); }
  int64_t prefix_tokens() const { return distilled ? 2 : 1; }
  int64_t num_tokens() const { return num_patches() + prefix_tokens(); }
  std::string describe() const;
  static VitConfig deit_tiny();  // D 192, 3 heads
};

// What the relevance pass of Transformer-Attribution reads (xai/vit_lrp.h): each block's intermediate values.
struct VitBlockTrace {
  Tensor x;         // the block's input (B, T, D)
  Tensor h1;        // norm1(x)
  Tensor q, k, v;   // (B, H, T, d)
  Tensor ctx;       // A · v with the heads side by side (B, T, D)
  Tensor attn_out;  // proj(ctx)
  Tensor y;         // x + attn_out
  Tensor h2;        // norm2(y)
  Tensor f1;        // GELU(fc1(h2))
  Tensor mlp_out;   // fc2(f1)
};

struct VitOutput {
  Tensor logits;                      // (B, classes)
  std::vector<Tensor> attentions;     // per block: softmax probabilities (B, heads, T, T)
  std::vector<Tensor> block_outputs;  // per block: the token stream after it, (B, T, D)
  std::vector<VitBlockTrace> traces;  // per block, when forward(…, true)
  Tensor features;                    // norm(x) (B, T, D), the head reads token 0 (and 1 when distilled)
};

class VitBlock : public nn::Module {
 public:
  VitBlock(const VitConfig& c);
  // x (B, T, D) -> the block's output; attention (B, H, T, T) is returned through `attn`, the intermediate
  // values through `trace` (either may be null)
  Tensor operator()(const Tensor& x, Tensor* attn, VitBlockTrace* trace = nullptr) const;

  nn::LayerNorm norm1, norm2;
  nn::Linear qkv, proj, fc1, fc2;

 private:
  struct Named : nn::Module {
    void add(const std::string& name, nn::Module& m) { register_module(name, m); }
  };
  Named attn_holder_, mlp_holder_;
  int64_t heads_;
};

class VisionTransformer : public nn::Module {
 public:
  explicit VisionTransformer(const VitConfig& config);
  VitOutput forward(const Tensor& images, bool trace = false) const;  // (B, 3, H, W), normalised as expected
  const VitConfig& config() const { return cfg_; }

  Tensor cls_token, dist_token, pos_embed;
  nn::Conv2d patch_embed;
  std::vector<std::unique_ptr<VitBlock>> blocks;
  nn::LayerNorm norm;
  nn::Linear head;
  std::unique_ptr<nn::Linear> head_dist;

 private:
  struct Named : nn::Module {
    void add(const std::string& name, nn::Module& m) { register_module(name, m); }
  };
  Named patch_embed_holder_, blocks_holder_;
  VitConfig cfg_;
};

}  // namespace ha
