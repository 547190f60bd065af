// "Cluttered Fashion-MNIST": a deterministic detection-style set built from Debian's dataset-fashion-mnist.
// Each sample is a 56×56 canvas with the target item (28×28) at a random position over several small
// fragments of other items (distractors), plus the ground-truth mask of the target item. With patch 4 the
// token geometry is Vim's at 224: a 14×14 grid, 197 tokens, cls at 98. Samples depend only on
// (seed, epoch, index): epoch 0 is the fixed set; training draws a fresh arrangement each epoch.
#pragma once
#include <string>
#include <vector>

#include "models/io/image.h"
#include "tensor/tensor.h"

namespace ha {

struct ClutteredSample {
  Image8 image;               // 56×56 RGB (grey replicated)
  std::vector<uint8_t> mask;  // 56×56, 1 on the target item
  int64_t label = 0;
};

class ClutteredFashion {
 public:
  static constexpr int64_t kCanvas = 56, kItem = 28;
  static const char* default_dir() { return "/usr/share/datasets/fashion-mnist"; }
  // split: "train" (60,000) or "test" (10,000)
  ClutteredFashion(const std::string& dir, const std::string& split, uint64_t seed = 0);
  int64_t size() const { return labels_.numel(); }
  ClutteredSample get(int64_t index, uint64_t epoch = 0) const;
  static const std::vector<std::string>& class_names();

 private:
  Tensor images_, labels_;  // uint8 (n, 28, 28), uint8 (n)
  uint64_t seed_;
};

// A batch of samples as the model's input (B, 3, 56, 56), normalised like every image, and int64 labels.
void make_batch(const std::vector<ClutteredSample>& samples, Tensor& images, Tensor& labels);

}  // namespace ha
