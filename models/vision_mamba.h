// Vision Mamba (Vim), as the official midclstok checkpoints define it (docs/definitions.md §1):
//   tokens = patch_embed(img) with the cls token inserted at cls_index, + pos_embed
//   r, h = block_l(h, r) for each layer;  out = RMSNorm_f(r + h);  logits = head(out[cls])
// forward() returns what explanations need explicitly (block outputs h_l, per-layer scan inputs) and
// only when asked; nothing is stashed on modules.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nn/vim_block.h"

namespace ha {

enum class ClsMode { Middle, First, None };  // None: mean-pool the tokens for the head

struct VimConfig {
  int64_t d_model = 192, depth = 24, patch = 16, stride = 16, img_size = 224, in_chans = 3;
  int64_t d_state = 16, d_conv = 4, expand = 2, dt_rank = 12, num_classes = 1000;
  ClsMode cls_mode = ClsMode::Middle;
  double eps = 1e-5;

  int64_t grid() const { return (img_size - patch) / stride + 1; }
  int64_t num_patches() const { return grid() * grid(); }
  int64_t num_tokens() const { return num_patches() + (cls_mode == ClsMode::None ? 0 : 1); }
  int64_t cls_index() const;  // -1 without a cls token
  nn::MambaConfig mamba() const { return {d_model, d_state, d_conv, expand, dt_rank}; }
  std::string describe() const;
  static VimConfig tiny();   // D 192
  static VimConfig small();  // D 384
  static VimConfig base();   // D 768
};

struct VimForwardOptions {
  bool trace = false;           // fill VimOutput::traces (detached scan inputs per layer and direction)
  bool retain_block_grads = false;  // retain_grad() on every block output h_l (for d logit / d h_l)
  bool tokens_require_grad = false;  // VimOutput::tokens a leaf that requires grad (d logit / d tokens: MambaLRP)
};

struct VimOutput {
  Tensor logits;                      // (B, classes)
  Tensor tokens;                      // (B, L, D) embedded input, before the first block
  std::vector<Tensor> block_outputs;  // h_l, (B, L, D) each
  std::vector<nn::MixerTrace> traces; // per layer, when options.trace
};

class VisionMamba : public nn::Module {
 public:
  explicit VisionMamba(const VimConfig& config);
  VimOutput forward(const Tensor& images, const VimForwardOptions& options = {}) const;  // (B, 3, H, W)
  const VimConfig& config() const { return cfg_; }

  Tensor cls_token, pos_embed;
  nn::Conv2d patch_embed;
  nn::Linear head;
  std::vector<std::unique_ptr<nn::VimBlock>> layers;
  nn::RMSNorm norm_f;

 private:
  // the containers whose names appear in the state dict ("patch_embed.proj", "layers")
  struct Named : nn::Module {
    void add(const std::string& name, nn::Module& m) { register_module(name, m); }
  };
  Named patch_embed_holder_, layers_holder_;
  VimConfig cfg_;
};

}  // namespace ha
