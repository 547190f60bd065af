#include "models/load_vit.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "models/load.h"
#include "tensor/error.h"

namespace ha {

const char* family_name(ModelFamily f) { return f == ModelFamily::Vim ? "Vision Mamba" : "ViT"; }

ModelFamily detect_family(const Checkpoint& ckpt) {
  if (ckpt.find("blocks.0.attn.qkv.weight")) return ModelFamily::Vit;
  for (const TensorRecord& r : ckpt.records())
    if (r.name.rfind("layers.", 0) == 0) return ModelFamily::Vim;
  throw InputError(str("'", ckpt.path(), "' is neither a Vision Mamba (layers.N.mixer.*) nor a ViT/DeiT ",
                       "(blocks.N.attn.qkv.weight) checkpoint"));
}

namespace {

const TensorRecord& need(const Checkpoint& c, const std::string& name, size_t rank) {
  const TensorRecord* r = c.find(name);
  HATTN_CHECK_INPUT(r != nullptr, "'", c.path(), "': cannot infer the ViT configuration: no tensor '", name, "'");
  HATTN_CHECK_INPUT(r->shape.size() == rank, "'", c.path(), "': tensor '", name, "' has shape ", shape_str(r->shape),
                    ", expected ", rank, " dims");
  return *r;
}

}  // namespace

VitConfig infer_vit_config(const Checkpoint& ckpt, int64_t heads) {
  VitConfig c;
  const TensorRecord& pw = need(ckpt, "patch_embed.proj.weight", 4);
  c.d_model = pw.shape[0];
  c.in_chans = pw.shape[1];
  c.patch = pw.shape[2];
  HATTN_CHECK_INPUT(pw.shape[2] == pw.shape[3], "'", ckpt.path(), "': non-square patches ", shape_str(pw.shape));
  c.depth = count_indexed(ckpt, "blocks.");
  c.mlp_hidden = need(ckpt, "blocks.0.mlp.fc1.weight", 2).shape[0];
  c.num_classes = need(ckpt, "head.weight", 2).shape[0];
  c.distilled = ckpt.find("dist_token") != nullptr;
  const int64_t T = need(ckpt, "pos_embed", 3).shape[1];
  const int64_t M = T - c.prefix_tokens();
  const int64_t G = static_cast<int64_t>(std::llround(std::sqrt(double(std::max<int64_t>(M, 0)))));
  HATTN_CHECK_INPUT(M > 0 && G * G == M, "'", ckpt.path(), "': pos_embed has ", T, " tokens, not ",
                    c.prefix_tokens(), " + a square number of patches");
  c.img_size = G * c.patch;
  if (heads <= 0) {
    const auto it = ckpt.metadata().find("config.heads");
    heads = it != ckpt.metadata().end() ? std::stoll(it->second) : std::max<int64_t>(1, c.d_model / 64);
  }
  HATTN_CHECK_INPUT(heads > 0 && c.d_model % heads == 0, "'", ckpt.path(), "': width ", c.d_model,
                    " is not divisible into ", heads, " heads (give --heads)");
  c.heads = heads;
  return c;
}

std::unique_ptr<VisionTransformer> load_vit(const Checkpoint& ckpt, int64_t heads) {
  auto model = std::make_unique<VisionTransformer>(infer_vit_config(ckpt, heads));
  load_parameters(*model, ckpt);
  return model;
}

}  // namespace ha
