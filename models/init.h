// Random initialisation of a Vision Mamba in Mamba's spirit (used by `hattn train`, `hattn init` and the
// benchmarks): weights normal with std 1/sqrt(fan_in) (vectors 0.02), A_log = log(1..N) per channel, the Δ
// bias the inverse softplus of U_log[1e-3, 1e-1], norms and D one, other biases zero. Seeded, deterministic.
#pragma once
#include <cstdint>

#include "models/bert.h"
#include "models/gpt_neox.h"
#include "models/mamba_lm.h"
#include "models/vision_mamba.h"
#include "models/vision_transformer.h"

namespace ha {

void initialize_parameters(VisionMamba& model, uint64_t seed);
// A ViT in timm's spirit: Linear weights, cls/dist tokens and pos_embed normal with std 0.02, the patch
// embedding with std 1/sqrt(fan_in), LayerNorms one and zero, biases zero. Seeded, deterministic.
void initialize_parameters(VisionTransformer& model, uint64_t seed);
// A Mamba language model as mamba_ssm initialises one: the Vim rules above for Mamba-1 layers; for Mamba-2,
// A_log = log U[1, 16] per head and dt_bias the inverse softplus of U_log[1e-3, 1e-1]; the embedding normal with
// std 0.02 (it is also the head when tied).
void initialize_parameters(MambaLM& model, uint64_t seed);
void initialize_parameters(GptNeox& model, uint64_t seed);
void initialize_parameters(BertClassifier& model, uint64_t seed);

}  // namespace ha
