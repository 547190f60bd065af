// From a Hugging Face GPT-NeoX folder (the Pythia models: config.json with model_type gpt_neox, and
// model.safetensors, its shards, or pytorch_model.bin) to a ready GptNeox. The sizes come from the shapes; the
// heads, the rotary fraction and base, the residual form and the norm's eps from config.json, which is required
// (the heads cannot be read off the shapes). The buffers older files carry (the causal mask, masked_bias, the rotary
// inv_freq) are ignored: they are recomputed.
#pragma once
#include <memory>
#include <string>

#include "models/gpt_neox.h"
#include "models/load_lm.h"

namespace ha {

// True when `path` (a folder, its config.json or its weights) has a config.json beside it saying gpt_neox.
bool looks_like_gpt_neox(const std::string& path);
GptNeoxConfig infer_gpt_neox_config(const Checkpoint& ckpt, const LmFiles& files);
std::unique_ptr<GptNeox> load_gpt_neox(const std::string& path);

}  // namespace ha
