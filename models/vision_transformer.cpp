#include "models/vision_transformer.h"

#include <cmath>

#include "tensor/error.h"

namespace ha {

std::string VitConfig::describe() const {
  return str(distilled ? "DeiT (distilled)" : "ViT", " D=", d_model, " depth=", depth, " heads=", heads,
             " mlp=", mlp_hidden, " patch=", patch, " img=", img_size, " grid=", grid(), "x", grid(),
             " tokens=", num_tokens(), " classes=", num_classes);
}

VitConfig VitConfig::deit_tiny() { return VitConfig{}; }

VitBlock::VitBlock(const VitConfig& c)
    : norm1(c.d_model, c.eps), norm2(c.d_model, c.eps), qkv(c.d_model, 3 * c.d_model, true),
      proj(c.d_model, c.d_model, true), fc1(c.d_model, c.mlp_hidden, true), fc2(c.mlp_hidden, c.d_model, true),
      heads_(c.heads) {
  HATTN_CHECK(c.heads > 0 && c.d_model % c.heads == 0, "ViT: width ", c.d_model, " is not divisible by ", c.heads,
              " heads");
  register_module("norm1", norm1);
  attn_holder_.add("qkv", qkv);
  attn_holder_.add("proj", proj);
  register_module("attn", attn_holder_);
  register_module("norm2", norm2);
  mlp_holder_.add("fc1", fc1);
  mlp_holder_.add("fc2", fc2);
  register_module("mlp", mlp_holder_);
}

Tensor VitBlock::operator()(const Tensor& x, Tensor* attn, VitBlockTrace* trace) const {
  const int64_t B = x.size(0), T = x.size(1), D = x.size(2), H = heads_, dh = D / H;
  // (B, T, 3D) -> q, k, v (B, H, T, dh): timm's reshape (B, T, 3, H, dh) and permute (2, 0, 3, 1, 4)
  Tensor h1 = norm1(x);
  Tensor qkv_out = qkv(h1).reshape({B, T, 3, H, dh}).permute({2, 0, 3, 1, 4});
  Tensor q = qkv_out.select(0, 0), k = qkv_out.select(0, 1), v = qkv_out.select(0, 2);
  Tensor a = softmax(mul(matmul(q, k.transpose(2, 3)), 1.0 / std::sqrt(double(dh))), 3);  // (B, H, T, T)
  if (attn) *attn = a;
  Tensor ctx = matmul(a, v).transpose(1, 2).reshape({B, T, D});  // heads back side by side
  Tensor attn_out = proj(ctx);
  Tensor y = add(x, attn_out);
  Tensor h2 = norm2(y);
  Tensor f1 = gelu(fc1(h2));
  Tensor mlp_out = fc2(f1);
  if (trace) *trace = {x, h1, q, k, v, ctx, attn_out, y, h2, f1, mlp_out};
  return add(y, mlp_out);
}

VisionTransformer::VisionTransformer(const VitConfig& c)
    : patch_embed(c.in_chans, c.d_model, c.patch, c.patch), norm(c.d_model, c.eps), head(c.d_model, c.num_classes, true),
      cfg_(c) {
  HATTN_CHECK(c.d_model > 0 && c.depth > 0 && c.patch > 0 && c.img_size >= c.patch && c.num_classes > 0,
              "ViT: invalid configuration ", c.describe());
  cls_token = register_parameter("cls_token", {1, 1, c.d_model});
  if (c.distilled) dist_token = register_parameter("dist_token", {1, 1, c.d_model});
  pos_embed = register_parameter("pos_embed", {1, c.num_tokens(), c.d_model});
  patch_embed_holder_.add("proj", patch_embed);
  register_module("patch_embed", patch_embed_holder_);
  for (int64_t i = 0; i < c.depth; ++i) {
    blocks.push_back(std::make_unique<VitBlock>(c));
    blocks_holder_.add(std::to_string(i), *blocks.back());
  }
  register_module("blocks", blocks_holder_);
  register_module("norm", norm);
  register_module("head", head);
  if (c.distilled) {
    head_dist = std::make_unique<nn::Linear>(c.d_model, c.num_classes, true);
    register_module("head_dist", *head_dist);
  }
}

VitOutput VisionTransformer::forward(const Tensor& images, bool trace) const {
  const VitConfig& c = cfg_;
  HATTN_CHECK(images.dim() == 4 && images.size(1) == c.in_chans && images.size(2) == c.img_size &&
                  images.size(3) == c.img_size,
              "VisionTransformer: expected images of shape (B, ", c.in_chans, ", ", c.img_size, ", ", c.img_size,
              "), got ", describe(images));
  const int64_t B = images.size(0), M = c.num_patches();
  const Device dev = patch_embed.weight.device();
  Tensor patches = patch_embed(images.device() == dev ? images : images.to(dev)).reshape({B, c.d_model, M}).transpose(1, 2);
  std::vector<Tensor> parts{cls_token.expand({B, 1, c.d_model})};
  if (c.distilled) parts.push_back(dist_token.expand({B, 1, c.d_model}));
  parts.push_back(patches);
  Tensor x = add(concat(parts, 1), pos_embed);
  VitOutput out;
  if (trace) out.traces.resize(blocks.size());
  for (size_t l = 0; l < blocks.size(); ++l) {
    Tensor a;
    x = (*blocks[l])(x, &a, trace ? &out.traces[l] : nullptr);
    out.attentions.push_back(a);
    out.block_outputs.push_back(x);
  }
  Tensor feats = norm(x);
  out.features = feats;
  out.logits = head(feats.select(1, 0));
  if (c.distilled) out.logits = mul(add(out.logits, (*head_dist)(feats.select(1, 1))), 0.5);
  return out;
}

}  // namespace ha
