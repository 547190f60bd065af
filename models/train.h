// Training support: accuracy on a data set and training checkpoints (model + optimizer state + progress in
// one safetensors file; config and class names in its metadata).
#pragma once
#include <functional>
#include <map>
#include <string>

#include "models/cluttered.h"
#include "models/vision_mamba.h"
#include "nn/adamw.h"

namespace ha {

// A model as training sees it: images (B, 3, H, W) -> logits (B, classes). Vision Mamba and ViT both fit.
using LogitsFn = std::function<Tensor(const Tensor&)>;

// Top-1 accuracy over the first `limit` samples (epoch-0 arrangement); `progress(done, total)` is optional.
double evaluate_accuracy(const LogitsFn& model, const ClutteredFashion& data, int64_t limit, int64_t batch,
                         const std::function<void(int64_t, int64_t)>& progress = {});

struct TrainState {
  int64_t step = 0, epoch = 0, next_index = 0;  // where to resume
  std::map<std::string, std::string> metadata;  // the resumed checkpoint's (empty on a fresh start)
};

// The "train.history" entry of a run: the resumed checkpoint's own history, then, when this run's train.* options
// or config.* entries differ from the checkpoint's (numbers compared as numbers), "step S: --name old -> new,
// config.key old -> new, ..." (a curriculum, or a schedule lengthened on resume, stays on record in the model's
// metadata). Empty for a fresh start.
std::string training_history(const TrainState& resumed, const std::map<std::string, std::string>& metadata);

// `metadata` should already hold the model's configuration entries (add_config_metadata and the like).
void save_training_checkpoint(const std::string& path, const nn::Module& model, const nn::AdamW& opt,
                              const TrainState& state, std::map<std::string, std::string> metadata);
// Restores model weights, optimizer state and progress; the model must have the checkpoint's configuration.
TrainState load_training_checkpoint(const std::string& path, nn::Module& model, nn::AdamW& opt);

}  // namespace ha
