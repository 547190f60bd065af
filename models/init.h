// Random initialisation of a Vision Mamba in Mamba's spirit (used by `hattn train`, `hattn init` and the
// benchmarks): weights normal with std 1/sqrt(fan_in) (vectors 0.02), A_log = log(1..N) per channel, the Δ
// bias the inverse softplus of U_log[1e-3, 1e-1], norms and D one, other biases zero. Seeded, deterministic.
#pragma once
#include <cstdint>

#include "models/vision_mamba.h"
#include "models/vision_transformer.h"

namespace ha {

void initialize_parameters(VisionMamba& model, uint64_t seed);
// A ViT in timm's spirit: Linear weights, cls/dist tokens and pos_embed normal with std 0.02, the patch
// embedding with std 1/sqrt(fan_in), LayerNorms one and zero, biases zero. Seeded, deterministic.
void initialize_parameters(VisionTransformer& model, uint64_t seed);

}  // namespace ha
