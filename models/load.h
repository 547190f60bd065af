// From a checkpoint file to a ready VisionMamba: the configuration is inferred from tensor shapes
// (docs/definitions.md §1), parameters are matched by name, and every problem is reported at once.
#pragma once
#include <memory>
#include <set>
#include <string>

#include "models/io/checkpoint.h"
#include "models/vision_mamba.h"

namespace ha {

struct ConfigOverrides {
  int64_t stride = 0;    // --stride (0: not given)
  int64_t img_size = 0;  // --img-size (0: not given)
};

// `how` (optional) receives one line saying where stride and image size came from.
VimConfig infer_vim_config(const Checkpoint& ckpt, const ConfigOverrides& overrides = {}, std::string* how = nullptr);

// 1 + the largest N among the keys `<prefix>N.…` (the number of layers / blocks); malformed indices are refused.
int64_t count_indexed(const Checkpoint& ckpt, const std::string& prefix);

// Copies every parameter of `model` from the checkpoint. Throws one error listing all missing, unexpected
// and mis-shaped keys by name, and non-float tensors where a float is needed. `ignored` keys may be in the file
// and are not read (a tied head's copy of the embedding).
void load_parameters(nn::Module& model, const Checkpoint& ckpt, const std::set<std::string>& ignored = {});

std::unique_ptr<VisionMamba> load_vim(const std::string& path, const ConfigOverrides& overrides = {},
                                      std::string* how = nullptr);

// The configuration entries every file we write carries in __metadata__ (read back by infer_vim_config).
void add_config_metadata(const VimConfig& c, std::map<std::string, std::string>& metadata);

// The model's parameters and configuration as a safetensors file (config in __metadata__).
void save_vim_safetensors(const VisionMamba& model, const std::string& path,
                          std::map<std::string, std::string> metadata = {});

}  // namespace ha
