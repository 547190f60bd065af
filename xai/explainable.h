// The one seam between model families and explanation methods (docs/10_adding_a_family.md). A family (Vision
// Mamba, ViT/DeiT, the Mamba language models, ...) is one adapter file in xai/families/ that implements
// `Explainable`: it says what it is and offers (`FamilyInfo`, plain data), and it runs one traced pass that
// returns a `Trace`: the logits, the target, and per layer the token mixer as a `MixerOperator` (C matrices
// L×L: Mamba-1's channels, Mamba-2's heads, softmax heads) with the gradients and relevances the methods read.
// The methods (xai/explain.h) and protocols (xai/evaluate.h) are written once against these types and know no
// family by name; the commands (apps/) read FamilyInfo instead of branching on the family.
#pragma once
#include <functional>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "models/preprocess.h"
#include "tensor/tensor.h"
#include "xai/hidden_attention.h"

namespace ha::xai {

enum class Method { Raw, Rollout, Attr, Unified, Random, Saliency, GradXInput, Gae, Lrp };
enum class Variant { Official, Exact };

// What a family's mixers are, which decides the form a method takes (docs/definitions.md §5, §5b, §9):
//   Hidden   Mamba's hidden attention: raw is the layer mean of min-max-normalised rows, attr is
//            Mamba-Attribution (s_l from the block gradients), unified where the rows have that kind
//   Softmax  a transformer's attention: raw is the last block's head mean, attr is Transformer-Attribution
//            (the LRP relevance at the attention), gae (Chefer, ICCV 2021)
enum class MixerForm { Hidden, Softmax };
// What a Softmax family's map holds at the query token itself (its own entry in the row read): the map as computed,
// or as Chefer's released BERT code leaves it, 0 (raw, rollout) or the row's minimum (attr).
enum class QueryEntry { Keep, Zero, RowMin };
enum class Modality { Image, Tokens };

struct MethodSpec {
  Method method;
  std::vector<Variant> variants;  // those a user may choose, the default first; empty: one definition
};

// How a vector over the tokens, and a map over the input, become the map a method returns.
struct MapLayout {
  Modality modality = Modality::Image;
  std::vector<int64_t> shape;         // the map's shape: {G, G} for images, {T} for token sequences
  std::vector<int64_t> patch_tokens;  // images: the token of each map cell, row-major
  int64_t prefix_tokens = 0;          // images: tokens before the first patch token (a ViT's cls, distillation)
  int64_t patch = 0, stride = 0;      // images: a cell's receptive field in pixels and the step between cells
  int64_t feature_dim = 0;            // the axis of Trace::input that holds features (image channels: 0; width: 1)
};

struct FamilyInfo {
  std::string key;          // "vim", "vit", "mamba_lm": the explorer's and the registry's name
  std::string name;         // for people: "Vision Mamba", "ViT/DeiT", "Mamba-2 LM"
  std::string describe;     // the configuration in one line
  Modality modality = Modality::Image;
  MixerForm form = MixerForm::Hidden;
  int64_t layers = 0;
  int64_t tokens = 0;                 // images: L (fixed by the input size); token models: 0 (the input's length)
  int64_t default_start_layer = 0;    // where layer aggregation (raw, rollout, attr, unified) begins
  int64_t default_query = -1;         // the token whose row is read (cls); < 0: the last token
  bool causal = false;                // rows end at the query (token j > q gets 0)
  std::vector<MethodSpec> methods;    // what "all" means, in order; empty: this model cannot be explained
  std::string not_explainable;        // why, when `methods` is empty
  std::map<Method, std::string> refusals;  // what a user asking for a method the family lacks is told
  std::string mixer_unit = "channel"; // what one of a mixer's C matrices is called: channel | head
  int64_t mixer_units = 0;            // C
  std::vector<std::string> directions;  // the parts of a mixer one may ask for (Vim: fwd, bwd, sum), default last
  std::vector<std::string> options;     // the family-specific explanation options it takes (variant, query, ...)
  bool batched_trace = false;           // trace() runs a batch in one pass (else image by image: callers chunk)
  std::vector<std::pair<std::string, std::string>> config_json;  // its configuration as JSON members, in order
  std::vector<std::pair<std::string, int64_t>> mixer_shape;      // the mixer's sizes a viewer needs (channels, heads)
  // images
  int64_t img_size = 0, num_classes = 0;
  Normalization normalization = Normalization::ImageNet;
  std::vector<std::string> class_names;
  MapLayout layout;  // tokens: shape is set per trace
  // token sequences
  int64_t vocab = 0;
  // token classifiers (BERT, decoder classifiers): num_classes and class_names say so; the logits are (1, classes),
  // the explained target a class, and the query fixed unless `options` has "query"
  std::map<Method, QueryEntry> query_entry;  // Softmax forms whose map sets the query's own entry (default Keep)

  bool classifies_tokens() const { return modality == Modality::Tokens && num_classes > 0; }

  const MethodSpec* find(Method m) const;  // null when the family does not offer m
  bool takes(const std::string& option) const;
};

// Channel reductions of one layer's matrices F_c (c < C), all (L, L):
struct MixerStats {
  Tensor mean;       // mean over c of F_c
  Tensor mean_relu;  // mean over c of max(F_c, 0)
  double min = 0, max = 0;  // the extremes of F over every channel and entry
};

// One layer's token mixer for one traced input, as C matrices over the L tokens.
class MixerOperator {
 public:
  virtual ~MixerOperator() = default;
  virtual int64_t channels() const = 0;  // C
  virtual int64_t tokens() const = 0;    // L
  // Matrices [c0, c1): (c1 − c0, L, L) on the CPU; `part` one of FamilyInfo::directions ("" : the whole mixer).
  virtual Tensor matrices(int64_t c0, int64_t c1, const std::string& part = "") const = 0;
  // Row q of every matrix, (C, L) on the CPU; a family whose rows lack `kind` throws.
  virtual Tensor rows(int64_t q, RowKind kind) const = 0;
  // The channel reductions, computed on first use (once, whichever thread asks first). The default goes through
  // matrices() in blocks of channels (never C·L² at once); a family with a faster route overrides compute_stats.
  const MixerStats& stats() const;
  // The channel mean X = stats().mean applied to vectors, float64 (L): its row sums X·1 and wᵀX (w (L)), what
  // rollout reads of a layer. The defaults read stats().mean; a family whose matrices come from a recurrence
  // answers by recurrences, without any L×L matrix.
  virtual Tensor mean_row_sums() const;
  virtual Tensor mean_vecmat(const Tensor& w) const;
  // Every channel's matrix (L, L), CPU, handed to f(range, channel, matrix): the channels split into kSweepRanges
  // fixed ranges that run in parallel, each in channel order (so per-range partial results, merged in range order,
  // do not depend on the thread count). The default goes through matrices() in blocks; a family with a cheaper
  // route to one channel's matrix overrides it.
  static constexpr int64_t kSweepRanges = 8;
  virtual void sweep_channels(const std::function<void(int64_t, int64_t, const Tensor&)>& f) const;
  // Softmax families: ∂target/∂(the matrices) and the LRP relevance reaching them, (C, L, L); undefined otherwise.
  virtual Tensor matrix_grad() const { return {}; }
  virtual Tensor matrix_relevance() const { return {}; }
  // What the matrices are computed from, by name (Vim: "fwd.delta", "fwd.A", ...; ViT: "attn"): for viewers
  // that recompute them (hattn explore).
  virtual std::vector<std::pair<std::string, Tensor>> factors() const = 0;

 protected:
  virtual MixerStats compute_stats() const;

 private:
  mutable std::once_flag stats_once_;
  mutable std::shared_ptr<const MixerStats> stats_;
};

// One traced pass over one input: everything the methods read.
struct Trace {
  Tensor logits;        // images and token classifiers: (1, classes); language models: (T, V), CPU
  int64_t target = 0;   // the class, or the next token, whose logit is explained
  int64_t query = 0;    // the token whose row the methods read (cls; the query position); < 0: none (no cls)
  std::vector<std::shared_ptr<const MixerOperator>> mixers;  // per layer
  std::vector<Tensor> block_grads;  // Hidden: ∂target/∂(layer l's output) (L, D) per layer, CPU
  Tensor input;         // what the gradient baselines read, CPU: the normalised image (3, H, W), the embeddings (T, D)
  Tensor input_grad;    // ∂target/∂input, the same shape
  // lrp (MambaLRP): per variant run, Σ_features e ⊙ ∂target/∂e at the token embeddings e under the LRP rules
  // (autograd/lrp.h), (L) float64 on the CPU, every token (cls included)
  std::map<Variant, Tensor> lrp;
  MapLayout layout;      // the family's, with the map's shape for this input

  int64_t tokens() const { return mixers.empty() ? 0 : mixers.front()->tokens(); }  // L
};

// A trace with what the family fixes filled in (the query token, the layout): where a family's pass starts.
Trace blank_trace(const FamilyInfo& family);

struct Target {
  int64_t index = -1;     // the class or token whose logit is explained; < 0: the argmax
  int64_t position = -1;  // token models: the position whose next-token logit; < 0: the last
};

// Token models: the ids of an input (int64 (T) or (1, T)), checked against the vocabulary; and the blank trace of
// T tokens explaining `target`'s position (default: the last).
std::vector<int64_t> checked_token_ids(const Tensor& inputs, int64_t vocab);
// A decoder's logits of every position (B, T, ·), on the CPU, as logits()/batch_logits() return them: a language
// model's all of them; a classifier's (its classes read at a sequence's last token) only row b's position
// lengths[b] − 1 (empty lengths: the last position), (B, classes).
Tensor decoder_logits(const FamilyInfo& family, const Tensor& all, const std::vector<int64_t>& lengths = {});
// The same for a batch (B, T): the ids, row by row.
std::vector<int64_t> checked_token_batch(const Tensor& inputs, int64_t vocab);
Trace blank_token_trace(const FamilyInfo& family, int64_t T, const Target& target);

// The output a trace explains: `asked`, or the argmax of `logits` (one row (V), on the CPU) when asked < 0. Refuses
// non-finite logits and a target outside the row, naming it `unit` ("class", "token").
int64_t choose_target(const Tensor& logits, int64_t asked, const char* unit);

struct TraceOptions {
  bool gradients = true;  // false: a forward pass that fills logits and mixers only
  bool relevance = true;  // Softmax families: also the LRP relevance pass (only attr reads it)
  // MambaLRP's pass (a forward and backward under the LRP rules) per variant listed that the family offers (one
  // with a single definition runs it once, as Exact, when any is listed). The default, like the passes above:
  // everything.
  std::vector<Variant> lrp = {Variant::Official, Variant::Exact};

  static TraceOptions forward_only() { return {false, false, {}}; }  // logits and mixers, no backward pass
};
// The variants of lrp a family's trace runs for these options (see TraceOptions::lrp).
std::vector<Variant> lrp_variants(const FamilyInfo& family, const TraceOptions& options);

class Explainable {
 public:
  virtual ~Explainable() = default;
  virtual const FamilyInfo& info() const = 0;
  // The input of an image model is a normalised batch (B, 3, H, W); that of a token model the ids (1, T), int64.
  // Logits without gradients: (B, classes) or (T, V), on the CPU.
  virtual Tensor logits(const Tensor& inputs) const = 0;
  // Token models: several sequences at once, right-padded: ids (B, T), row b's sequence its first lengths[b] tokens
  // (empty: every row T long; the padding may be any token of the vocabulary). (B, classes) for a classifier, read
  // where that row's sequence ends; (B, T, V) for a language model, whose rows t < lengths[b] are that sequence's
  // (later rows are unspecified); on the CPU. Each sequence's logits equal logits() of it alone up to float32
  // rounding.
  Tensor batch_logits(const Tensor& ids, const std::vector<int64_t>& lengths = {}) const;
  // One trace per batch item (image models: B; token models: 1), each for its own target (missing: the argmax).
  // Items do not interact: each trace equals that of the item alone.
  virtual std::vector<Trace> trace(const Tensor& inputs, const std::vector<Target>& targets = {},
                                   const TraceOptions& options = {}) const = 0;
  // The token stream after every block, (1, L, D) each, for one input (oversmoothing, xai/similarity.h).
  virtual std::vector<Tensor> streams(const Tensor& input) const = 0;
  virtual Device device() const = 0;

 protected:
  // batch_logits with its arguments checked (lengths holds B values in [1, T]). The default runs logits() sequence
  // by sequence; a family overrides it with one forward over the batch: causal decoders need no mask for right
  // padding (no position sees a later one), encoders mask the padded keys.
  virtual Tensor padded_logits(const Tensor& ids, const std::vector<int64_t>& lengths) const;
};

// Parsing and naming.
Method parse_method(const std::string& s);  // raw | rollout | attr | unified | random | saliency | gradxinput | gae | lrp
const char* method_name(Method m);
Variant parse_variant(const std::string& s);  // official | exact
const char* variant_name(Variant v);

}  // namespace ha::xai
