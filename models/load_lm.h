// From the released Mamba language-model files to a ready MambaLM (docs/definitions.md §9). A model is a folder
// (or its weights file, with config.json beside it) in either layout:
//   state-spaces: config.json {d_model, n_layer, vocab_size, ssm_cfg {layer, d_state, headdim, ngroups}, ...}
//                 + pytorch_model.bin (read by the restricted unpickler)
//   Hugging Face: config.json {model_type mamba|mamba2, state_size, head_dim, n_groups, ...} + model.safetensors,
//                 or shards listed in model.safetensors.index.json
// What the shapes give comes from the shapes; only Mamba-2's N and G (whose product alone shows) come from
// config.json, under either naming, else mamba_ssm's defaults (N 128, G 1).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/io/checkpoint.h"
#include "models/mamba_lm.h"

namespace ha {

struct LmFiles {
  std::string folder;                // where config.json and the tokenizer are looked for
  std::string config;                // config.json, or empty when there is none
  std::vector<std::string> weights;  // one file, or the shards
};

// True when `path` is a language model's folder, its config.json, or its weights (or shard index) with a
// config.json beside that describes a Mamba language model.
bool looks_like_lm(const std::string& path);
LmFiles find_lm_files(const std::string& path);
// The model_type of the config.json of `path` (a folder, its config.json or its weights); "" when there is no
// readable config.json or it names none.
std::string config_model_type(const std::string& path);
// A classifier's class names: config.json's id2label ({"0": "NEGATIVE", ...}) when it names all `labels`, else
// "0" .. "K−1".
std::vector<std::string> config_label_names(const LmFiles& files, int64_t labels);
// The weights as one checkpoint (shards merged), with Hugging Face's key spellings renamed to state-spaces'.
Checkpoint open_lm_checkpoint(const LmFiles& files);
// `how` (optional) receives one line per decision that did not come from the shapes.
LmConfig infer_lm_config(const Checkpoint& ckpt, const LmFiles& files, std::string* how = nullptr);
std::unique_ptr<MambaLM> load_lm(const std::string& path, std::string* how = nullptr);

}  // namespace ha
