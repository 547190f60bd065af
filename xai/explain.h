// The explanation methods (docs/definitions.md §5, §5b, §9), each written once against a Trace (xai/explainable.h),
// in the spirit of pytorch-grad-cam: the family's traced pass collects what the methods read; each method is a
// small function of it. A method reads per layer l ≥ start the mixer's rows at the query q or its channel
// reductions, and returns a map in the trace's layout (a G×G patch grid, or one value per token), clamped at 0.
//   raw       Hidden: mean over layers of (mean over C of min-max(F_l[:, q, :]))  (official: the released row)
//             Softmax: row q of the last block's head mean
//   rollout   row q of the rollout of X_l: the channel mean of F_l (official: every row the mean of the q rows)
//   attr      Hidden (Mamba-Attribution): X_l = A_l ⊙ s_l, A_l the channel mean of min-max(max(F_l, 0)), s_l the
//             token relevance of ∂target/∂(layer l's output); Softmax (Transformer-Attribution):
//             X_l = mean_h max(∇A_l ⊙ R_l, 0), R_l the LRP relevance at A_l
//   unified   Hidden, where rows have the follow-up's gated, conv-folded kind: rows_of(min-max(a_l ⊙ s_l))
//   gae       Softmax: R = I; R += mean_h max(∇A_l ⊙ A_l, 0) · R over every block; row q
//   random, saliency (max over features of |∂/∂input|), gradxinput (|Σ features input · ∂/∂input|)
//   lrp       MambaLRP: Σ features e ⊙ ∂target/∂e at the token embeddings e of a pass under the LRP rules
//             (autograd/lrp.h; official: the released vision code's subset), the patch (or every) token
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "xai/explainable.h"

namespace ha::xai {

// The paper's ablations of rollout and attr for hidden attention (App. D, G; docs/definitions.md §5c): how the
// per-channel matrices (or, in the official variant, rows) become one per layer, which entries are dropped first,
// and attr's clamp. The defaults are the method's definition.
enum class Aggregate { Mean, Max, Min, Prod };
enum class Clamp { Relu, None, Abs };
struct Ablation {
  Aggregate aggregate = Aggregate::Mean;
  double discard = 0;         // in each (layer, channel) matrix, entries below its discard-quantile become 0
  Clamp clamp = Clamp::Relu;  // attr's (·)⁺
  bool is_default() const { return aggregate == Aggregate::Mean && discard == 0 && clamp == Clamp::Relu; }
};
Aggregate parse_aggregate(const std::string& s);  // mean | max | min | prod
Clamp parse_clamp(const std::string& s);          // relu | none | abs
// The ablation that options name by key (aggregate, discard, clamp; a missing key: the default); an InputError
// naming a bad value.
Ablation parse_ablation(const std::map<std::string, std::string>& options);
const char* aggregate_name(Aggregate a);
const char* clamp_name(Clamp c);

struct ExplainOptions {
  std::optional<Variant> variant;  // unset: the family's default for the method
  int64_t start_layer = -1;        // < 0: the family's default
  uint64_t seed = 0;               // for `random`
  int64_t query = -1;              // the token whose row is read; < 0: the trace's (cls, the query position)
  Ablation ablation;               // rollout and attr of hidden attention only
};

// The map (float32) of one method, in the trace's layout. Throws an InputError if the family lacks the method or
// variant, if an option is out of range, or if the result is not finite.
Tensor explain(const Trace& trace, const FamilyInfo& family, Method method, const ExplainOptions& options = {});

// The variant `method` runs in for this family when `asked` (unset: the default); throws if it has no such one.
Variant resolve_variant(const FamilyInfo& family, Method method, std::optional<Variant> asked);
// "attr (official)" where the family offers variants of the method, else "attr"; token: "attr:official" / "attr".
std::string method_label(const FamilyInfo& family, Method method, Variant v);
std::string method_token(const FamilyInfo& family, Method method, Variant v);

// Building blocks, exposed for tests.
// Channel c of `channels` (C, ...) each transformed by `f`, entries below their discard-quantile (numpy's linear
// quantile over that channel) set to 0, then aggregated over c: (...) in float64. prod multiplies in log space
// (signs kept, zeros stay zeros), so a product far below float32's range is kept where float64 can hold it.
Tensor aggregate_channels(const Tensor& channels, Aggregate aggregate, double discard);
Tensor token_relevance(const Tensor& block_grad);  // s_l: min-max over tokens of max_c max(g[j, c], 0) -> (L)
// Row `row` of J = M_last ··· M_first with M_l = (I + X_l), each row divided by its sum (rows summing to 0 are
// left unnormalised rather than divided by zero). X_l are (L, L), given first layer first.
// Whether a method reads the trace's gradients (raw, rollout and random read the forward pass only; lrp its own
// pass).
bool needs_gradients(Method m);
// What a trace must run for `methods` (each in its variant for `variant`): the gradient pass where a method reads
// it, a softmax family's relevance pass for attr, MambaLRP's pass for lrp.
TraceOptions trace_options(const FamilyInfo& family, const std::vector<Method>& methods,
                           std::optional<Variant> variant = std::nullopt);
Tensor rollout(const std::vector<Tensor>& X, int64_t row);
// The same row with each X_l the channel mean of a layer's operator, read through its products (row sums and
// wᵀX) only: r ← v + Xᵀv, v_i = r_i / (1 + Σ_j X[i,j]), last layer first. O(L) memory per layer.
Tensor rollout(const std::vector<const MixerOperator*>& layers, int64_t row);
Tensor minmax(const Tensor& x);  // over all entries; zeros when max == min
// (G, G): the mean of a pixel map (H, W) over each patch's P×P receptive field (patches S apart), the way
// pixel-space baselines become a patch map.
Tensor patch_mean(const Tensor& pixels, int64_t G, int64_t P, int64_t S);

}  // namespace ha::xai
