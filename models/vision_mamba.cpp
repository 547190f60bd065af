#include "models/vision_mamba.h"

#include <cmath>

#include "ops/dispatch.h"

namespace ha {

int64_t VimConfig::cls_index() const {
  switch (cls_mode) {
    case ClsMode::Middle: return num_patches() / 2;
    case ClsMode::First: return 0;
    case ClsMode::None: return -1;
  }
  return -1;
}

std::string VimConfig::describe() const {
  const char* cls = cls_mode == ClsMode::Middle ? "middle" : cls_mode == ClsMode::First ? "first" : "none (mean pool)";
  return str("Vim D=", d_model, " depth=", depth, " patch=", patch, " stride=", stride, " img=", img_size,
             " grid=", grid(), "x", grid(), " tokens=", num_tokens(), " cls=", cls, cls_mode == ClsMode::None ? "" : str(" at ", cls_index()),
             " N=", d_state, " R=", dt_rank, " E=", expand * d_model, " classes=", num_classes);
}

static VimConfig with_width(int64_t d) {
  VimConfig c;
  c.d_model = d;
  c.dt_rank = (d + 15) / 16;
  return c;
}
VimConfig VimConfig::tiny() { return with_width(192); }
VimConfig VimConfig::small() { return with_width(384); }
VimConfig VimConfig::base() { return with_width(768); }

VisionMamba::VisionMamba(const VimConfig& c)
    : patch_embed(c.in_chans, c.d_model, c.patch, c.stride),
      head(c.d_model, c.num_classes, true),
      norm_f(c.d_model, c.eps),
      cfg_(c) {
  HATTN_CHECK(c.d_model > 0 && c.depth > 0 && c.patch > 0 && c.stride > 0 && c.img_size >= c.patch,
              "VisionMamba: invalid configuration: ", c.describe());
  if (c.cls_mode != ClsMode::None) cls_token = register_parameter("cls_token", {1, 1, c.d_model});
  pos_embed = register_parameter("pos_embed", {1, c.num_tokens(), c.d_model});
  patch_embed_holder_.add("proj", patch_embed);
  register_module("patch_embed", patch_embed_holder_);
  register_module("head", head);
  for (int64_t i = 0; i < c.depth; ++i) {
    layers.push_back(std::make_unique<nn::VimBlock>(c.mamba(), c.eps));
    layers_holder_.add(std::to_string(i), *layers.back());
  }
  register_module("layers", layers_holder_);
  register_module("norm_f", norm_f);
}

VimOutput VisionMamba::forward(const Tensor& images, const VimForwardOptions& options) const {
  const VimConfig& c = cfg_;
  HATTN_CHECK(images.dim() == 4 && images.size(1) == c.in_chans && images.size(2) == c.img_size &&
                  images.size(3) == c.img_size,
              "VisionMamba: expected images of shape (B, ", c.in_chans, ", ", c.img_size, ", ", c.img_size, "), got ",
              describe(images));
  const int64_t B = images.size(0), M = c.num_patches();
  // the input goes where the parameters are (move_parameters); outputs stay there
  const Device dev = patch_embed.weight.device();
  Tensor patches = patch_embed(images.device() == dev ? images : images.to(dev)).reshape({B, c.d_model, M}).transpose(1, 2);  // (B, M, D), row-major patches
  Tensor x;
  if (c.cls_mode == ClsMode::None) {
    x = patches;
  } else {
    const int64_t at = c.cls_index();
    Tensor cls = cls_token.expand({B, 1, c.d_model});
    x = concat({patches.narrow(1, 0, at), cls, patches.narrow(1, at, M - at)}, 1);
  }
  VimOutput out;
  out.tokens = add(x, pos_embed);
  if (options.tokens_require_grad) out.tokens = out.tokens.detach().requires_grad_();
  Tensor h = out.tokens, r;
  if (options.trace) out.traces.resize(c.depth);
  for (int64_t l = 0; l < c.depth; ++l) {
    auto [hn, rn] = (*layers[l])(h, r, options.trace ? &out.traces[l] : nullptr);
    h = hn;
    r = rn;
    if (options.retain_block_grads && h.requires_grad()) h.retain_grad();
    out.block_outputs.push_back(h);
  }
  Tensor feats = norm_f(add(r, h));
  Tensor pooled = c.cls_mode == ClsMode::None ? mean(feats, {1}) : feats.select(1, c.cls_index());
  out.logits = head(pooled);
  return out;
}

}  // namespace ha
