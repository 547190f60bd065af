#include "models/init.h"

#include <cmath>

#include "ops/ops.h"
#include "tensor/random.h"

namespace ha {

void initialize_parameters(VisionMamba& model, uint64_t seed) {
  NoGradGuard no_grad;
  const int64_t N = model.config().d_state;
  Generator g(seed);
  auto has = [](const std::string& name, const char* part) { return name.find(part) != std::string::npos; };
  for (auto& [name, p] : model.named_parameters()) {
    if (has(name, "A_log") || has(name, "A_b_log")) {
      float* a = p.data<float>();
      for (int64_t i = 0; i < p.numel(); ++i) a[i] = std::log(float(i % N + 1));
    } else if (has(name, "dt_proj") && has(name, "bias")) {
      float* b = p.data<float>();
      for (int64_t i = 0; i < p.numel(); ++i) {
        const double dt = std::exp(g.uniform() * (std::log(0.1) - std::log(0.001)) + std::log(0.001));
        b[i] = static_cast<float>(dt + std::log(-std::expm1(-dt)));
      }
    } else if (has(name, "norm") || has(name, ".D") || has(name, "D_b")) {
      p.fill_(1.0);
    } else if (has(name, "bias")) {
      p.fill_(0.0);
    } else {
      const double fan_in = static_cast<double>(p.numel() / p.size(0));
      p.copy_(mul(randn(p.shape(), DType::F32, g), p.dim() >= 2 ? 1.0 / std::sqrt(fan_in) : 0.02));
    }
  }
}

void initialize_parameters(VisionTransformer& model, uint64_t seed) {
  NoGradGuard no_grad;
  Generator g(seed);
  auto has = [](const std::string& name, const char* part) { return name.find(part) != std::string::npos; };
  for (auto& [name, p] : model.named_parameters()) {
    if (has(name, "norm") && has(name, "weight")) {
      p.fill_(1.0);
    } else if (has(name, "bias")) {
      p.fill_(0.0);
    } else if (has(name, "patch_embed")) {
      const double fan_in = static_cast<double>(p.numel() / p.size(0));
      p.copy_(mul(randn(p.shape(), DType::F32, g), 1.0 / std::sqrt(fan_in)));
    } else {
      p.copy_(mul(randn(p.shape(), DType::F32, g), 0.02));
    }
  }
}

}  // namespace ha
