// From a checkpoint in timm's layout (DeiT's {'model': sd} .pth, a bare state dict, or safetensors) to a ready
// VisionTransformer: the configuration comes from the tensors' shapes (docs/definitions.md §9), the heads from
// the width (D / 64) unless given.
#pragma once
#include <memory>
#include <string>

#include "models/io/checkpoint.h"
#include "models/vision_transformer.h"

namespace ha {

enum class ModelFamily { Vim, Vit };
const char* family_name(ModelFamily f);
// From the keys: Vision Mamba has layers.N.mixer.*, ViT/DeiT blocks.N.attn.qkv.weight.
ModelFamily detect_family(const Checkpoint& ckpt);

// heads = 0: D / 64 (DeiT-T 3, -S 6, -B 12, ViT-L 16), or what our own files record in their metadata.
VitConfig infer_vit_config(const Checkpoint& ckpt, int64_t heads = 0);
std::unique_ptr<VisionTransformer> load_vit(const Checkpoint& ckpt, int64_t heads = 0);

}  // namespace ha
