#include "models/train.h"

#include "models/load.h"
#include "ops/ops.h"

namespace ha {

double evaluate_accuracy(const LogitsFn& model, const ClutteredFashion& data, int64_t limit, int64_t batch,
                         const std::function<void(int64_t, int64_t)>& progress) {
  NoGradGuard ng;
  const int64_t n = std::min(limit, data.size());
  int64_t correct = 0;
  for (int64_t at = 0; at < n; at += batch) {
    std::vector<ClutteredSample> samples;
    for (int64_t i = at; i < std::min(n, at + batch); ++i) samples.push_back(data.get(i, 0));
    Tensor images, labels;
    make_batch(samples, images, labels);
    Tensor pred = argmax(model(images).to(Device::cpu()), 1);
    for (int64_t b = 0; b < labels.numel(); ++b) correct += pred.data<int64_t>()[b] == labels.data<int64_t>()[b];
    if (progress) progress(std::min(n, at + batch), n);
  }
  return n ? double(correct) / double(n) : 0.0;
}

void save_training_checkpoint(const std::string& path, const nn::Module& model, const nn::AdamW& opt,
                              const TrainState& state, std::map<std::string, std::string> metadata) {
  metadata["train.step"] = std::to_string(state.step);
  metadata["train.epoch"] = std::to_string(state.epoch);
  metadata["train.next_index"] = std::to_string(state.next_index);
  metadata["train.optimizer_steps"] = std::to_string(opt.steps());
  auto tensors = model.named_parameters();
  tensors.emplace_back("optimizer.exp_avg", opt.first_moment());
  tensors.emplace_back("optimizer.exp_avg_sq", opt.second_moment());
  save_safetensors(path, tensors, metadata);
}

TrainState load_training_checkpoint(const std::string& path, nn::Module& model, nn::AdamW& opt) {
  Checkpoint ckpt = Checkpoint::open(path);
  // the optimizer tensors are not model parameters: load the model's own keys only
  for (auto& [name, t] : model.named_parameters()) {
    const TensorRecord* r = ckpt.find(name);
    HATTN_CHECK_INPUT(r && r->shape == t.shape(), "'", path, "': parameter '", name, "' is missing or mis-shaped");
    t.copy_(ckpt.load(name));
  }
  HATTN_CHECK_INPUT(ckpt.find("optimizer.exp_avg") && ckpt.find("optimizer.exp_avg_sq"), "'", path,
                    "' holds no optimizer state: not a training checkpoint");
  auto meta = [&](const std::string& k) {
    auto it = ckpt.metadata().find(k);
    HATTN_CHECK_INPUT(it != ckpt.metadata().end(), "'", path, "': metadata '", k, "' is missing");
    return std::stoll(it->second);
  };
  opt.restore(ckpt.load("optimizer.exp_avg"), ckpt.load("optimizer.exp_avg_sq"), meta("train.optimizer_steps"));
  return {meta("train.step"), meta("train.epoch"), meta("train.next_index"), ckpt.metadata()};
}

namespace {

// "3e-3" and "0.003" are the same learning rate: numbers compare as numbers, anything else as text.
bool same_setting(const std::string& a, const std::string& b) {
  if (a == b) return true;
  try {
    size_t na = 0, nb = 0;
    const double x = std::stod(a, &na), y = std::stod(b, &nb);
    return na == a.size() && nb == b.size() && x == y;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

std::string training_history(const TrainState& resumed, const std::map<std::string, std::string>& metadata) {
  const auto& old = resumed.metadata;
  if (old.empty()) return "";  // a fresh start
  const auto it = old.find("train.history");
  std::string history = it == old.end() ? "" : it->second, changes;
  for (const auto& [key, value] : metadata) {
    // the options (train.*) and the model's configuration (config.*: a ViT's heads change no parameter shape)
    const bool option = key.rfind("train.", 0) == 0, config = key.rfind("config.", 0) == 0;
    if ((!option && !config) || key == "train.history" || key == "train.command") continue;
    const auto was = old.find(key);
    const std::string before = was == old.end() ? "(unset)" : was->second;
    if (!same_setting(before, value))
      changes += (changes.empty() ? "" : ", ") + (option ? "--" + key.substr(6) : key) + " " + before + " -> " + value;
  }
  if (!changes.empty()) history += (history.empty() ? "" : "; ") + ("step " + std::to_string(resumed.step) + ": " + changes);
  return history;
}

}  // namespace ha
