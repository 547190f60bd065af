#include "models/init.h"

#include <cmath>

#include "ops/ops.h"
#include "tensor/random.h"

namespace ha {

namespace {

double inverse_softplus_of_dt(Generator& g) {  // Δ ~ U_log[1e-3, 1e-1], stored as the bias that gives it
  const double dt = std::exp(g.uniform() * (std::log(0.1) - std::log(0.001)) + std::log(0.001));
  return dt + std::log(-std::expm1(-dt));
}

// The Mamba-1 rules, shared by Vim and the Mamba-1 language models.
void initialize_mamba(std::vector<std::pair<std::string, Tensor>> params, int64_t N, Generator& g) {
  auto has = [](const std::string& name, const char* part) { return name.find(part) != std::string::npos; };
  for (auto& [name, p] : params) {
    if (has(name, "A_log") || has(name, "A_b_log")) {
      float* a = p.data<float>();
      for (int64_t i = 0; i < p.numel(); ++i) a[i] = std::log(float(i % N + 1));
    } else if (has(name, "dt_proj") && has(name, "bias")) {
      float* b = p.data<float>();
      for (int64_t i = 0; i < p.numel(); ++i) b[i] = static_cast<float>(inverse_softplus_of_dt(g));
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

}  // namespace

void initialize_parameters(VisionMamba& model, uint64_t seed) {
  NoGradGuard no_grad;
  Generator g(seed);
  initialize_mamba(model.named_parameters(), model.config().d_state, g);
}

void initialize_parameters(MambaLM& model, uint64_t seed) {
  NoGradGuard no_grad;
  Generator g(seed);
  const bool mamba2 = model.config().family == LmFamily::Mamba2;
  std::vector<std::pair<std::string, Tensor>> rest;
  for (auto& [name, p] : model.named_parameters()) {
    if (name == "backbone.embedding.weight") {
      p.copy_(mul(randn(p.shape(), DType::F32, g), 0.02));
    } else if (mamba2 && name.size() > 6 && name.compare(name.size() - 6, 6, ".A_log") == 0) {
      float* a = p.data<float>();
      for (int64_t i = 0; i < p.numel(); ++i) a[i] = static_cast<float>(std::log(1 + 15 * g.uniform()));
    } else if (mamba2 && name.size() > 8 && name.compare(name.size() - 8, 8, ".dt_bias") == 0) {
      float* b = p.data<float>();
      for (int64_t i = 0; i < p.numel(); ++i) b[i] = static_cast<float>(inverse_softplus_of_dt(g));
    } else {
      rest.emplace_back(name, p);
    }
  }
  initialize_mamba(rest, model.config().d_state, g);
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

// GPT-NeoX as Hugging Face initialises it: normal(0, 0.02) weights and embeddings, zero biases, unit LayerNorms.
void initialize_parameters(GptNeox& model, uint64_t seed) {
  NoGradGuard no_grad;
  Generator g(seed);
  auto has = [](const std::string& name, const char* part) { return name.find(part) != std::string::npos; };
  for (auto& [name, p] : model.named_parameters()) {
    if (has(name, "layernorm") || has(name, "layer_norm")) p.fill_(has(name, "weight") ? 1.0 : 0.0);
    else if (has(name, "bias")) p.fill_(0.0);
    else p.copy_(mul(randn(p.shape(), DType::F32, g), 0.02));
  }
}

// BERT as Hugging Face initialises it: normal(0, 0.02) weights and embeddings, zero biases, unit LayerNorms.
void initialize_parameters(BertClassifier& model, uint64_t seed) {
  NoGradGuard no_grad;
  Generator g(seed);
  for (auto& [name, p] : model.named_parameters()) {
    const bool bias = name.size() >= 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
    if (name.find("LayerNorm") != std::string::npos) p.fill_(bias ? 0.0 : 1.0);
    else if (bias) p.fill_(0.0);
    else p.copy_(mul(randn(p.shape(), DType::F32, g), 0.02));
  }
}

}  // namespace ha
