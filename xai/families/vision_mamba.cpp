// Vision Mamba (Vim) as an explainable family: per layer the two-direction hidden attention F = α_f + α_b
// (xai/hidden_attention.h), read at the middle cls token; maps over the patch grid. The released code's quirks are
// the `official` variant of raw, rollout and attr; `exact` reads the full matrices.
#include <cmath>

#include "autograd/lrp.h"
#include "models/class_names.h"
#include "models/load.h"
#include "nn/module.h"
#include "ops/ops.h"
#include "xai/registry.h"

namespace ha::xai {
namespace {

class VimMixer final : public MixerOperator {
 public:
  VimMixer(nn::MixerTrace t, int64_t L) : t_(std::move(t)), L_(L) {}
  int64_t channels() const override { return t_.fwd.A.size(0); }
  int64_t tokens() const override { return L_; }
  Tensor matrices(int64_t c0, int64_t c1, const std::string& part) const override {
    return attention_matrices(t_, parse_direction(part.empty() ? "sum" : part), 0, c0, c1).to(Device::cpu());
  }
  Tensor rows(int64_t q, RowKind kind) const override { return cls_rows(t_, 0, q, kind).to(Device::cpu()); }
  std::vector<std::pair<std::string, Tensor>> factors() const override {
    std::vector<std::pair<std::string, Tensor>> out;
    for (const auto& [name, d] : {std::pair<const char*, const nn::DirectionTrace*>{"fwd", &t_.fwd}, {"bwd", &t_.bwd}})
      for (const auto& [f, x] : {std::pair<const char*, Tensor>{"delta", d->delta}, {"A", d->A}, {"B", d->Bm}, {"C", d->Cm}})
        out.emplace_back(str(name, ".", f), x);
    return out;
  }

 protected:
  MixerStats compute_stats() const override {  // both directions in one sweep, on the trace's device
    const LayerAttentionStats s = layer_attention_stats(t_, 0);
    return {s.mean_sum.to(Device::cpu()), s.mean_relu_sum.to(Device::cpu()), s.min_sum, s.max_sum};
  }

 private:
  nn::MixerTrace t_;  // one image's view; stays on the model's device (the rows and matrices run there)
  int64_t L_;
};

class VimExplainable final : public Explainable {
 public:
  VimExplainable(std::shared_ptr<const VisionMamba> model, std::vector<std::string> class_names)
      : model_(std::move(model)) {
    HATTN_CHECK(model_ != nullptr, "explainable: no model");
    const VimConfig& c = model_->config();
    FamilyInfo& f = info_;
    f.key = "vim";
    f.name = "Vision Mamba";
    f.describe = c.describe();
    f.modality = Modality::Image;
    f.form = MixerForm::Hidden;
    f.layers = c.depth;
    f.tokens = c.num_tokens();
    f.default_start_layer = 15 * c.depth / 24;
    f.default_query = c.cls_index();
    const std::vector<Variant> both = {Variant::Official, Variant::Exact};
    f.methods = {{Method::Raw, both},       {Method::Rollout, both},  {Method::Attr, both},      {Method::Unified, {}},
                 {Method::Random, {}},      {Method::Saliency, {}},   {Method::GradXInput, {}}, {Method::Lrp, both}};
    f.refusals[Method::Gae] = "gae is a transformer method (Chefer et al., ICCV 2021); for Vision Mamba use attr or unified";
    f.mixer_unit = "channel";
    f.mixer_units = c.mamba().d_inner();
    f.directions = {"fwd", "bwd", "sum"};
    f.options = {"variant", "query", "direction", "channels", "aggregate", "discard", "clamp"};
    f.config_json = {{"d_model", str(c.d_model)},   {"depth", str(c.depth)},         {"patch", str(c.patch)},
                     {"stride", str(c.stride)},     {"img_size", str(c.img_size)},   {"tokens", str(c.num_tokens())},
                     {"cls_index", str(c.cls_index())}, {"d_state", str(c.d_state)}, {"num_classes", str(c.num_classes)}};
    f.mixer_shape = {{"channels", c.mamba().d_inner()}, {"states", c.d_state}};
    f.img_size = c.img_size;
    f.num_classes = c.num_classes;
    f.normalization = Normalization::ImageNet;
    f.class_names = std::move(class_names);
    for (int64_t k = static_cast<int64_t>(f.class_names.size()); k < c.num_classes; ++k) f.class_names.push_back(str("class ", k));
    f.layout.modality = Modality::Image;
    f.layout.shape = {c.grid(), c.grid()};
    for (int64_t t = 0; t < c.num_tokens(); ++t)
      if (t != c.cls_index()) f.layout.patch_tokens.push_back(t);
    f.layout.patch = c.patch;
    f.layout.stride = c.stride;
    f.layout.prefix_tokens = 0;  // the cls token, where there is one, sits among the patch tokens
    f.layout.feature_dim = 0;
    f.batched_trace = true;
  }

  const FamilyInfo& info() const override { return info_; }
  Device device() const override { return model_->patch_embed.weight.device(); }

  Tensor logits(const Tensor& inputs) const override {
    NoGradGuard ng;
    return model_->forward(inputs.to(device())).logits.to(Device::cpu());
  }

  std::vector<Tensor> streams(const Tensor& input) const override {
    NoGradGuard ng;
    VimOutput out = model_->forward(input.to(device()));
    std::vector<Tensor> s;
    Tensor r = out.tokens;
    for (const Tensor& h : out.block_outputs) s.push_back(r = add(r, h));  // r + h_l: the residual after block l
    return s;
  }

  std::vector<Trace> trace(const Tensor& inputs, const std::vector<Target>& targets,
                           const TraceOptions& options) const override {
    HATTN_CHECK(inputs.dim() == 4 && inputs.size(0) >= 1, "explain: expects images of shape (B, 3, H, W); got ",
                describe(inputs));
    const int64_t B = inputs.size(0);
    HATTN_CHECK(targets.empty() || static_cast<int64_t>(targets.size()) == B, "explain: ", targets.size(),
                " targets for ", B, " images");
    if (!options.gradients) {
      std::vector<Trace> traces(B);
      {
        NoGradGuard ng;
        const VimOutput out = model_->forward(inputs.to(device()), {true, false});
        const Tensor logits = out.logits.detach().to(Device::cpu());
        for (int64_t b = 0; b < B; ++b) {
          traces[b] = blank_trace(info_);
          traces[b].logits = logits.narrow(0, b, 1).contiguous();
          traces[b].target = choose_target(logits.select(0, b), targets.empty() ? -1 : targets[b].index, "class");
          add_mixers(traces[b], out.traces, b, B);
        }
      }
      add_lrp(traces, inputs, lrp_variants(info_, options));
      return traces;
    }
    // The pass runs where the model's parameters are (CPU or CUDA); everything the methods read except the scan
    // inputs comes back to the CPU at the end.
    Tensor input = inputs.detach().to(DType::F32).contiguous().to(device()).requires_grad_();
    // Explanations read input-side gradients only: with the parameters frozen for this pass the backward
    // skips every weight gradient (about a third of its work) and leaves the model's .grad untouched.
    const nn::FrozenParameters frozen(*model_);
    VimOutput out = model_->forward(input, {true, true});
    const Tensor logits = out.logits.detach().to(Device::cpu());
    std::vector<Trace> traces(B);
    for (int64_t b = 0; b < B; ++b) {
      traces[b] = blank_trace(info_);
      traces[b].target = choose_target(logits.select(0, b), targets.empty() ? -1 : targets[b].index, "class");
    }
    backward_from_targets(out.logits, traces);
    auto cpu = [](const Tensor& t) { return t.defined() ? t.to(Device::cpu()) : t; };
    const Tensor input_grad = cpu(input.grad()), input_cpu = cpu(input.detach());
    std::vector<Tensor> grads;
    for (const Tensor& h : out.block_outputs) {
      HATTN_CHECK(h.grad().defined(), "explain: a block output received no gradient");
      grads.push_back(cpu(h.grad()));
    }
    for (int64_t b = 0; b < B; ++b) {
      Trace& t = traces[b];
      t.logits = logits.narrow(0, b, 1).contiguous();
      t.input = input_cpu.narrow(0, b, 1).contiguous().select(0, 0);
      t.input_grad = input_grad.select(0, b).contiguous();
      for (const Tensor& g : grads) t.block_grads.push_back(g.select(0, b).contiguous());
      add_mixers(t, out.traces, b, B);
    }
    add_lrp(traces, inputs, lrp_variants(info_, options));
    return traces;
  }

 private:
  // d (sum over b of logit[b, target_b]): each image's gradient is that of its own target logit
  void backward_from_targets(const Tensor& logits, const std::vector<Trace>& traces) const {
    const int64_t classes = logits.size(1);
    Tensor pick = Tensor::zeros({logits.size(0), classes});
    for (size_t b = 0; b < traces.size(); ++b) pick.data<float>()[b * classes + traces[b].target] = 1.0f;
    sum(mul(logits, pick.to(device()))).backward();
  }

  // MambaLRP (autograd/lrp.h) per variant: a pass under the rules (official: the released vision code's defaults,
  // the scan's constants and the gate's half rule; exact: every rule, which conserves relevance), and gradient ×
  // input at the tokens (patch embeddings, cls and position embedding), summed over features, per token.
  void add_lrp(std::vector<Trace>& traces, const Tensor& inputs, const std::vector<Variant>& variants) const {
    const int64_t B = static_cast<int64_t>(traces.size());
    for (Variant v : variants) {
      LrpRules rules = LrpRules::all();
      if (v == Variant::Official) rules.constant_norms = rules.silu_ratio = false;
      const GradModeGuard grad_on(true);
      const nn::FrozenParameters frozen(*model_);
      const LrpScope scope(rules);
      VimForwardOptions o;
      o.tokens_require_grad = true;
      VimOutput out = model_->forward(inputs.detach().to(DType::F32).contiguous().to(device()), o);
      backward_from_targets(out.logits, traces);
      NoGradGuard ng;
      const Tensor R = sum(mul(out.tokens.detach(), out.tokens.grad()), {2}).to(DType::F64).to(Device::cpu());
      for (int64_t b = 0; b < B; ++b) traces[b].lrp[v] = R.select(0, b).contiguous();
    }
  }

  // Per image, a view of its batch row of every layer's scan inputs.
  void add_mixers(Trace& t, const std::vector<nn::MixerTrace>& layers, int64_t b, int64_t B) const {
    for (const nn::MixerTrace& m : layers) {
      auto row = [&](const nn::DirectionTrace& d) {
        nn::DirectionTrace r = d;
        for (Tensor* x : {&r.delta, &r.Bm, &r.Cm, &r.z, &r.pre})
          if (x->defined() && B > 1) *x = x->narrow(0, b, 1);
        return r;
      };
      t.mixers.push_back(std::make_shared<VimMixer>(nn::MixerTrace{row(m.fwd), row(m.bwd)}, info_.tokens));
    }
  }

  std::shared_ptr<const VisionMamba> model_;
  FamilyInfo info_;
};

ConfigOverrides overrides_of(const LoadOptions& o) {
  ConfigOverrides c;
  c.stride = option_int(o.values, "stride", 0);
  c.img_size = option_int(o.values, "img-size", 0);
  HATTN_CHECK_INPUT(c.stride >= 0 && (c.stride > 0 || !o.values.count("stride")), "stride must be positive");
  HATTN_CHECK_INPUT(c.img_size >= 0 && (c.img_size > 0 || !o.values.count("img-size")), "img-size must be positive");
  return c;
}

bool recognizes(const ModelFile& f) {
  for (const TensorRecord& r : f.checkpoint().records())
    if (r.name.rfind("layers.", 0) == 0) return true;
  return false;
}

void check_normalization(const LoadOptions& o) {
  const auto it = o.values.find("normalize");
  HATTN_CHECK_INPUT(it == o.values.end() || parse_normalization(it->second) == Normalization::ImageNet,
                    "Vision Mamba takes ImageNet's normalisation (normalize imagenet), not '", it->second, "'");
}

std::unique_ptr<Explainable> load_vim_family(const ModelFile& f, const LoadOptions& o) {
  check_normalization(o);
  auto model = std::make_unique<VisionMamba>(infer_vim_config(f.checkpoint(), overrides_of(o)));
  load_parameters(*model, f.checkpoint());
  if (o.device.is_cuda()) nn::move_parameters(*model, o.device);
  nn::freeze(*model);  // an inference model: explanations take input gradients only
  std::vector<std::string> names = class_names_for(f.checkpoint(), model->config().num_classes);
  return std::make_unique<VimExplainable>(std::move(model), std::move(names));
}

std::string inspect_vim(const ModelFile& f, const LoadOptions& o) {
  check_normalization(o);
  std::string how;
  const VimConfig c = infer_vim_config(f.checkpoint(), overrides_of(o), &how);
  return str(checkpoint_file_line(f.checkpoint()), "config      ", c.describe(), "\nresolved    ", how,
             "\nparameters  ", VisionMamba(c).parameter_count(), "\n", checkpoint_extras_lines(f.checkpoint()));
}

}  // namespace

std::unique_ptr<Explainable> vision_mamba_explainable(std::shared_ptr<const VisionMamba> model,
                                                      std::vector<std::string> class_names) {
  return std::make_unique<VimExplainable>(std::move(model), std::move(class_names));
}

FamilyEntry vision_mamba_family() {
  return {"vim",
          "Vision Mamba",
          "a Vision Mamba checkpoint (layers.N.mixer.*)",
          {{"stride", "Vision Mamba: patch stride; overrides the inferred one and fixes the image size"},
           {"img-size", "Vision Mamba: input image size; overrides the inferred one and fixes the stride"},
           {"normalize", "input normalisation: imagenet (Vim, DeiT; the default) | half (mean = std = 0.5, Google's ViT)"}},
          recognizes,
          load_vim_family,
          inspect_vim};
}

}  // namespace ha::xai
