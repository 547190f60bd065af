// The explanation methods (docs/definitions.md §5), in the spirit of pytorch-grad-cam: one driver runs the model once
// (forward with traces, target class, backward of the raw target logit) and collects everything the
// methods read into an ExplainContext; each method is then a small function of it returning a G×G map
// over the patch grid (cls entry removed), clamped at 0. Token positions and the default start layer
// come from the model configuration.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/vision_mamba.h"

namespace ha::xai {

struct ExplainContext {
  VimConfig cfg;
  Tensor input;                        // (1, 3, H, W), normalised
  Tensor logits;                       // (1, classes)
  int64_t target = 0;                  // the class explained
  std::vector<nn::MixerTrace> traces;  // per layer: both directions' scan inputs, on the model's device
                                       // (everything else here is on the CPU)
  std::vector<Tensor> block_grads;     // g_l = d logit[target] / d h_l, (L, D) per layer
  Tensor input_grad;                   // d logit[target] / d input, (3, H, W)
  // Per-layer channel reductions of the full matrices, computed on first use (the exact variant's rollout
  // and attribution share them).
  mutable std::vector<std::shared_ptr<const struct LayerAttentionStats>> stats_cache;
};

// target < 0: the argmax class.
ExplainContext run_explain_pass(const VisionMamba& model, const Tensor& input, int64_t target = -1);
// The same for a batch (B, 3, H, W) in one forward and one backward pass: one context per image (its traces
// and gradients are views of the batch's), each explaining targets[b] (< 0 or missing: its argmax). The
// images do not interact, so each context equals what run_explain_pass gives for that image alone.
std::vector<ExplainContext> run_explain_pass_batch(const VisionMamba& model, const Tensor& inputs,
                                                   const std::vector<int64_t>& targets = {});

enum class Method { Raw, Rollout, Attr, Unified, Random, Saliency, GradXInput, Gae };  // Gae: transformers only
enum class Variant { Official, Exact };

Method parse_method(const std::string& s);  // raw | rollout | attr | unified | random | saliency | gradxinput | gae
const char* method_name(Method m);
std::vector<Method> all_methods();
Variant parse_variant(const std::string& s);  // official | exact
const char* variant_name(Variant v);

struct ExplainOptions {
  Variant variant = Variant::Official;
  int64_t start_layer = -1;  // < 0: floor(15 · depth / 24)
  uint64_t seed = 0;         // for `random`
  int64_t query = -1;        // the token whose row raw/rollout/attr (exact) and unified read; < 0: the cls token
};

int64_t default_start_layer(const VimConfig& cfg);

// The G×G map (float32) of one method. Throws if the result is not finite.
Tensor explain(const ExplainContext& ctx, Method method, const ExplainOptions& options = {});

// Building blocks, exposed for tests.
Tensor token_relevance(const Tensor& block_grad);  // s_l: min-max over tokens of max_c max(g[j, c], 0) -> (L)
// Row `cls` of J = M_last ··· M_first with M_l = (I + X_l), each row divided by its sum (rows summing to 0 are
// left unnormalised rather than divided by zero). X_l are (L, L), given first layer first.
Tensor rollout(const std::vector<Tensor>& X, int64_t cls);
Tensor minmax(const Tensor& x);  // over all entries; zeros when max == min
// (G, G): the mean of a pixel map (H, W) over each patch's P×P receptive field (patches S apart), the way
// pixel-space baselines become a patch map.
Tensor patch_mean(const Tensor& pixels, int64_t G, int64_t P, int64_t S);

}  // namespace ha::xai
