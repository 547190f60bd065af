// AdamW over one parameter arena: parameters and their gradients each live in a single flat buffer, so
// zeroing and the update are single loops. Decoupled weight decay, skipped for 1-d parameters (norm weights,
// biases, D) and the position/cls embeddings, as is usual for ViT-style models.
#pragma once
#include <string>
#include <vector>

#include "nn/module.h"

namespace ha::nn {

struct AdamWConfig {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.05;
};

class AdamW {
 public:
  // Packs the model's parameters (values kept) into an arena on the device they are on (CPU or CUDA).
  AdamW(Module& model, AdamWConfig config = {});
  void zero_grad();
  void step(double lr);
  int64_t steps() const { return t_; }

  // Optimizer state for --resume: m, v as tensors, step count.
  Tensor first_moment() const { return m_; }
  Tensor second_moment() const { return v_; }
  void restore(const Tensor& m, const Tensor& v, int64_t steps);

 private:
  AdamWConfig cfg_;
  Tensor params_, grads_, m_, v_;
  std::vector<uint8_t> decay_;  // per element: 1 if weight decay applies
  Tensor decay_mask_;           // the same as float32 on the device (CUDA arenas only)
  int64_t t_ = 0;
};

// Linear warm-up to `peak` over `warmup` steps, then cosine decay to `floor` at `total`.
double warmup_cosine(int64_t step, int64_t warmup, int64_t total, double peak, double floor);

}  // namespace ha::nn
