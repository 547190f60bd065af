// The Mamba language models (Mamba-1, Mamba-2) as an explainable family: per layer the causal hidden attention,
// one matrix per channel (Mamba-1, xai/hidden_attention.h) or per head (Mamba-2, xai/head_attention.h), read at
// the query position whose next-token logit is explained; one value per token (docs/definitions.md §9).
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "autograd/lrp.h"
#include "models/load_lm.h"
#include "nn/module.h"
#include "ops/ops.h"
#include "xai/head_attention.h"
#include "xai/registry.h"

namespace ha::xai {
namespace {

class LmMixer final : public MixerOperator {
 public:
  LmMixer(const LmConfig& c, LmLayerTrace t, int64_t T, Device device)
      : mamba1_(c.family == LmFamily::Mamba1), t_(std::move(t)), T_(T), device_(device) {}
  int64_t channels() const override { return mamba1_ ? t_.mamba1.fwd.A.size(0) : t_.mamba2.A.size(0); }
  int64_t tokens() const override { return T_; }
  Tensor matrices(int64_t c0, int64_t c1, const std::string& part) const override {
    HATTN_CHECK_INPUT(part.empty(), "a language model's mixer has one direction (asked for '", part, "')");
    if (mamba1_) return attention_matrices(t_.mamba1, Direction::Fwd, 0, c0, c1);
    return head_attention_matrices(t_.mamba2, 0, c0, c1);
  }
  Tensor rows(int64_t q, RowKind kind) const override {
    if (mamba1_) return direction_rows(t_.mamba1.fwd, 0, q, kind, device_);
    HATTN_CHECK_INPUT(kind == RowKind::Exact, "Mamba-2's head attention rows have the exact kind only");
    return head_rows(t_.mamba2, 0, q, device_);
  }
  std::vector<std::pair<std::string, Tensor>> factors() const override {
    if (mamba1_) return {{"delta", t_.mamba1.fwd.delta}, {"A", t_.mamba1.fwd.A}, {"B", t_.mamba1.fwd.Bm}, {"C", t_.mamba1.fwd.Cm}};
    return {{"delta", t_.mamba2.delta}, {"A", t_.mamba2.A}, {"B", t_.mamba2.Bm}, {"C", t_.mamba2.Cm}};
  }
  Tensor mean_row_sums() const override {
    return mamba1_ ? causal_mean_row_sums(t_.mamba1.fwd, 0, device_) : head_mean_row_sums(t_.mamba2, 0, device_);
  }
  Tensor mean_vecmat(const Tensor& w) const override {
    return mamba1_ ? causal_mean_vecmat(t_.mamba1.fwd, 0, w, device_) : head_mean_vecmat(t_.mamba2, 0, w, device_);
  }
  void sweep_channels(const std::function<void(int64_t, int64_t, const Tensor&)>& f) const override {
    if (mamba1_) return causal_channel_sweep(t_.mamba1.fwd, 0, kSweepRanges, f);
    MixerOperator::sweep_channels(f);  // Mamba-2's head matrices are cheap: the default's blocks
  }

 protected:
  MixerStats compute_stats() const override {  // one parallel sweep, never the (C, T, T) tensor
    if (mamba1_) {
      const CausalAttentionStats s = causal_attention_stats(t_.mamba1.fwd, 0, device_);
      return {s.mean, s.mean_relu, s.min, s.max};
    }
    const CausalAttentionStats s = head_attention_stats(t_.mamba2, 0, device_);
    return {s.mean, s.mean_relu, s.min, s.max};
  }

 private:
  bool mamba1_;
  LmLayerTrace t_;  // on the CPU
  int64_t T_;
  Device device_;   // the model's: rows, the rollout scans and the statistics sweep run there
};

class LmExplainable final : public Explainable {
 public:
  LmExplainable(std::shared_ptr<const MambaLM> model, std::vector<std::string> class_names)
      : model_(std::move(model)) {
    HATTN_CHECK(model_ != nullptr, "explainable: no model");
    const LmConfig& c = model_->config();
    const bool m1 = c.family == LmFamily::Mamba1;
    FamilyInfo& f = info_;
    f.key = "mamba_lm";
    f.name = m1 ? "Mamba-1 LM" : "Mamba-2 LM";
    f.describe = c.describe();
    f.modality = Modality::Tokens;
    f.form = MixerForm::Hidden;
    f.layers = c.n_layer;
    f.default_start_layer = 15 * c.n_layer / 24;
    f.default_query = -1;
    f.causal = true;
    f.methods = {{Method::Raw, {}}, {Method::Rollout, {}}, {Method::Attr, {}}};
    if (m1) f.methods.push_back({Method::Unified, {}});
    for (Method b : {Method::Random, Method::Saliency, Method::GradXInput, Method::Lrp}) f.methods.push_back({b, {}});
    if (!m1)
      f.refusals[Method::Unified] = "unified is defined for Mamba-1 only (its gate and conv fold into the channel's "
                                    "attention); this is a Mamba-2 model";
    f.refusals[Method::Gae] = "gae is a transformer method (Chefer et al., ICCV 2021); for a Mamba LM use attr";
    f.mixer_unit = m1 ? "channel" : "head";
    f.mixer_units = m1 ? c.d_inner : c.nheads;
    f.options = {"channels", "aggregate", "discard", "clamp"};
    f.layout.modality = Modality::Tokens;
    f.layout.feature_dim = 1;
    f.vocab = c.vocab;
    if (c.labels > 0) {  // a sequence classifier: the classes at the last token
      f.name = m1 ? "Mamba-1 classifier" : "Mamba-2 classifier";
      f.num_classes = c.labels;
      f.class_names = std::move(class_names);
    }
  }

  const FamilyInfo& info() const override { return info_; }
  Device device() const override { return model_->embedding.device(); }

  Tensor logits(const Tensor& inputs) const override {
    NoGradGuard ng;
    const std::vector<int64_t> ids = checked_ids(inputs);
    const Tensor out = decoder_logits(info_, model_->forward(Tensor::from_vector(ids, {1, int64_t(ids.size())})).logits);
    return info_.classifies_tokens() ? out : out.select(0, 0);  // (1, classes) or (T, V)
  }

  Tensor padded_logits(const Tensor& ids, const std::vector<int64_t>& lengths) const override {
    NoGradGuard ng;
    checked_token_batch(ids, info_.vocab);
    return decoder_logits(info_, model_->forward(ids).logits, lengths);  // causal: right padding changes nothing
  }

  // The residual stream after layer l: the embeddings plus every mixer output up to l.
  std::vector<Tensor> streams(const Tensor& input) const override {
    NoGradGuard ng;
    const std::vector<int64_t> ids = checked_ids(input);
    const LmOutput out = model_->forward(Tensor::from_vector(ids, {static_cast<int64_t>(ids.size())}));
    std::vector<Tensor> s;
    Tensor r = out.embeddings;
    for (const Tensor& m : out.mixer_outputs) s.push_back(r = add(r, m));
    return s;
  }

  std::vector<Trace> trace(const Tensor& inputs, const std::vector<Target>& targets,
                           const TraceOptions& options) const override {
    HATTN_CHECK(targets.size() <= 1, "explain: a language model explains one sequence at a time");
    const LmConfig& c = model_->config();
    const std::vector<int64_t> ids = checked_ids(inputs);
    const int64_t T = static_cast<int64_t>(ids.size());
    const Target target = targets.empty() ? Target{} : targets[0];
    const bool classifier = info_.classifies_tokens();
    HATTN_CHECK_INPUT(!classifier || target.position < 0 || target.position == T - 1, "explain: a decoder ",
                      "classifier reads its classes at the last token (", T - 1, "), not at ", target.position);
    Trace t = blank_token_trace(info_, T, target);
    std::unique_ptr<NoGradGuard> no_grad = options.gradients ? nullptr : std::make_unique<NoGradGuard>();
    const nn::FrozenParameters frozen(*model_);  // input-side gradients only
    LmForwardOptions opt;
    opt.trace = true;
    opt.retain_block_grads = options.gradients;
    opt.embeddings_require_grad = options.gradients;
    opt.detach_logits = true;
    // Mamba-2's chunked scan is composed of tensor ops whose intermediates (~150 MB per layer at 2,048 tokens) the
    // graph would keep for every layer; recomputing each mixer in the backward costs a mixer forward instead.
    // Mamba-1's fused scan keeps little: its graph is kept.
    opt.recompute_mixers = options.gradients && c.family == LmFamily::Mamba2;
    LmOutput out = model_->forward(Tensor::from_vector(ids, {T}), opt);
    t.logits = out.logits.detach().to(Device::cpu()).select(0, 0);  // (T, V), a classifier's (T, labels)
    if (classifier) t.logits = t.logits.narrow(0, T - 1, 1);
    t.logits = t.logits.contiguous();
    auto cpu = [](const Tensor& x) { return x.detach().to(Device::cpu()).contiguous(); };
    t.target = choose_target(t.logits.select(0, classifier ? 0 : t.query), target.index, classifier ? "class" : "token");
    if (options.gradients) {
      // the one logit, as the head computes it: hidden · W[target] (+ a classifier's bias)
      model_->head_logit(out.hidden.select(0, 0).select(0, t.query), t.target).backward();
      for (const Tensor& m : out.mixer_outputs) {
        // every mixer output feeds the residual stream, so each has a gradient; zeros keep the shapes if one had none
        t.block_grads.push_back(m.grad().defined() ? cpu(m.grad().select(0, 0)) : Tensor::zeros({T, c.d_model}));
      }
      t.input = cpu(out.embeddings.select(0, 0));
      t.input_grad = cpu(out.embeddings.grad().select(0, 0));
    }
    for (LmLayerTrace& l : out.traces) {
      for (Tensor* x : {&l.mamba1.fwd.delta, &l.mamba1.fwd.Bm, &l.mamba1.fwd.Cm, &l.mamba1.fwd.A, &l.mamba1.fwd.D,
                        &l.mamba1.fwd.z, &l.mamba1.fwd.pre, &l.mamba1.fwd.conv_weight, &l.mamba2.delta, &l.mamba2.Bm,
                        &l.mamba2.Cm, &l.mamba2.A, &l.mamba2.D, &l.mamba2.x})
        if (x->defined()) *x = cpu(*x);
      t.mixers.push_back(std::make_shared<LmMixer>(c, std::move(l), T, device()));
    }
    for (Variant v : lrp_variants(info_, options)) t.lrp[v] = lrp_relevance(ids, t.query, t.target);
    return {std::move(t)};
  }

 private:
  // MambaLRP (autograd/lrp.h): one pass under every rule (the released language-model code's; Mamba-2's are ours,
  // the same rules), gradient × input at the token embeddings, summed over features: (T) float64.
  Tensor lrp_relevance(const std::vector<int64_t>& ids, int64_t query, int64_t target) const {
    const int64_t T = static_cast<int64_t>(ids.size());
    const GradModeGuard grad_on(true);  // the trace may have run without gradients
    const nn::FrozenParameters frozen(*model_);
    const LrpScope scope(LrpRules::all());
    LmForwardOptions opt;
    opt.embeddings_require_grad = true;
    opt.detach_logits = true;
    opt.recompute_mixers = model_->config().family == LmFamily::Mamba2;  // as the gradient pass (the rules go along)
    LmOutput out = model_->forward(Tensor::from_vector(ids, {T}), opt);
    model_->head_logit(out.hidden.select(0, 0).select(0, query), target).backward();
    NoGradGuard ng;
    return sum(mul(out.embeddings.detach(), out.embeddings.grad()), {2}).select(0, 0).to(DType::F64).to(Device::cpu())
        .contiguous();
  }

  std::vector<int64_t> checked_ids(const Tensor& inputs) const { return checked_token_ids(inputs, info_.vocab); }

  std::shared_ptr<const MambaLM> model_;
  FamilyInfo info_;
};

// A folder or weights file with a config.json that describes a Mamba LM; else weights whose tensors are a
// language model's (backbone.*), the configuration then coming from the shapes alone.
bool recognizes(const ModelFile& f) {
  if (looks_like_lm(f.path())) return true;
  std::error_code ec;
  if (std::filesystem::is_directory(f.path(), ec)) {
    for (const char* name : {"model.safetensors.index.json", "model.safetensors", "pytorch_model.bin"})
      if (std::filesystem::exists(std::filesystem::path(f.path()) / name, ec)) return true;
    return false;
  }
  for (const TensorRecord& r : f.checkpoint().records())
    if (r.name.rfind("backbone.", 0) == 0) return true;
  return false;
}

std::unique_ptr<Explainable> load_lm_family(const ModelFile& f, const LoadOptions& o) {
  auto model = load_lm(f.path());
  if (o.device.is_cuda()) nn::move_parameters(*model, o.device);
  nn::freeze(*model);  // an inference model: explanations take input gradients only
  const int64_t labels = model->config().labels;
  std::vector<std::string> names = labels > 0 ? config_label_names(find_lm_files(f.path()), labels)
                                              : std::vector<std::string>();
  return std::make_unique<LmExplainable>(std::move(model), std::move(names));
}

std::string inspect_lm(const ModelFile& f, const LoadOptions&) {
  const LmFiles files = find_lm_files(f.path());
  const Checkpoint ckpt = open_lm_checkpoint(files);
  std::string how;
  const LmConfig c = infer_lm_config(ckpt, files, &how);
  int64_t stored = 0;
  for (const TensorRecord& r : ckpt.records()) stored += numel_of(r.shape);
  return str("files       ", files.folder, " (", ckpt.format(), ", ", ckpt.records().size(), " tensors, ", stored,
             " values)", files.config.empty() ? "" : ", ", files.config, "\nconfig      ", c.describe(), "\n",
             how.empty() ? std::string() : "resolved    " + how + "\n", "parameters  ", MambaLM(c).parameter_count(), "\n");
}

}  // namespace

std::unique_ptr<Explainable> mamba_lm_explainable(std::shared_ptr<const MambaLM> model) {
  return std::make_unique<LmExplainable>(std::move(model), std::vector<std::string>());
}

FamilyEntry mamba_lm_family() {
  return {"mamba_lm",
          "Mamba language model",
          "a Mamba language model (a folder with config.json and its weights, or the weights, backbone.*)",
          {},
          recognizes,
          load_lm_family,
          inspect_lm};
}

}  // namespace ha::xai
