// ViT / DeiT (timm's layout) as an explainable family: per block the softmax attention, one matrix per head, read
// at the cls token (token 0), with its gradient and the Transformer-Attribution relevance (xai/vit_lrp.h) for the
// transformer forms of the methods (docs/definitions.md §5b). Distilled DeiT is classified but not explained.
#include <algorithm>
#include <cmath>

#include "models/class_names.h"
#include "models/load_vit.h"
#include "nn/module.h"
#include "ops/ops.h"
#include "xai/registry.h"
#include "xai/softmax_mixer.h"
#include "xai/vit_lrp.h"

namespace ha::xai {
namespace {

class VitExplainable final : public Explainable {
 public:
  VitExplainable(std::shared_ptr<const VisionTransformer> model, Normalization n, std::vector<std::string> class_names)
      : model_(std::move(model)) {
    HATTN_CHECK(model_ != nullptr, "explainable: no model");
    const VitConfig& c = model_->config();
    FamilyInfo& f = info_;
    f.key = "vit";
    f.name = "ViT/DeiT";
    f.describe = c.describe();
    f.modality = Modality::Image;
    f.form = MixerForm::Softmax;
    f.layers = c.depth;
    f.tokens = c.num_tokens();
    f.default_start_layer = 1;
    f.default_query = 0;
    if (c.distilled) {
      f.not_explainable = "explanations of distilled DeiT checkpoints are not supported (their maps drop two prefix "
                          "tokens and attr is undefined for them)";
    } else {
      f.methods = {{Method::Raw, {}},    {Method::Rollout, {}},  {Method::Attr, {}},      {Method::Gae, {}},
                   {Method::Random, {}}, {Method::Saliency, {}}, {Method::GradXInput, {}}};
    }
    f.refusals[Method::Unified] = "unified is Vision Mamba's implicit attention; a ViT has raw, rollout, attr, gae and "
                                  "the baselines";
    f.refusals[Method::Lrp] = "lrp is MambaLRP (Jafari et al., 2024), defined for Mamba models; a ViT's LRP-based "
                              "method is attr (Transformer-Attribution)";
    f.mixer_unit = "head";
    f.mixer_units = c.heads;
    f.config_json = {{"family", "\"vit\""},         {"d_model", str(c.d_model)},  {"depth", str(c.depth)},
                     {"heads", str(c.heads)},       {"patch", str(c.patch)},      {"img_size", str(c.img_size)},
                     {"tokens", str(c.num_tokens())}, {"distilled", c.distilled ? "true" : "false"},
                     {"num_classes", str(c.num_classes)}};
    f.mixer_shape = {{"heads", c.heads}};
    f.img_size = c.img_size;
    f.num_classes = c.num_classes;
    f.normalization = n;
    f.class_names = std::move(class_names);
    for (int64_t k = static_cast<int64_t>(f.class_names.size()); k < c.num_classes; ++k) f.class_names.push_back(str("class ", k));
    f.layout.modality = Modality::Image;
    f.layout.shape = {c.grid(), c.grid()};
    for (int64_t k = 0; k < c.grid() * c.grid(); ++k) f.layout.patch_tokens.push_back(c.prefix_tokens() + k);
    f.layout.patch = f.layout.stride = c.patch;
    f.layout.prefix_tokens = c.prefix_tokens();
    f.layout.feature_dim = 0;
    f.batched_trace = false;
  }

  const FamilyInfo& info() const override { return info_; }
  Device device() const override { return model_->patch_embed.weight.device(); }

  Tensor logits(const Tensor& inputs) const override {
    NoGradGuard ng;
    return model_->forward(inputs.to(device())).logits.to(Device::cpu());
  }

  std::vector<Tensor> streams(const Tensor& input) const override {
    NoGradGuard ng;
    return model_->forward(input.to(device())).block_outputs;
  }

  // One image at a time (the relevance pass reads image 0 of a traced forward).
  std::vector<Trace> trace(const Tensor& inputs, const std::vector<Target>& targets,
                           const TraceOptions& options) const override {
    HATTN_CHECK(inputs.dim() == 4 && inputs.size(0) >= 1, "explain: expects images of shape (B, 3, H, W); got ",
                describe(inputs));
    const int64_t B = inputs.size(0);
    HATTN_CHECK(targets.empty() || static_cast<int64_t>(targets.size()) == B, "explain: ", targets.size(),
                " targets for ", B, " images");
    std::vector<Trace> traces;
    if (!options.gradients) {
      NoGradGuard ng;
      const VitOutput out = model_->forward(inputs.to(device()));
      for (int64_t b = 0; b < B; ++b) {
        Trace t = blank_trace(info_);
        t.logits = out.logits.detach().to(Device::cpu()).narrow(0, b, 1).contiguous();
        for (const Tensor& a : out.attentions)
          t.mixers.push_back(
              std::make_shared<SoftmaxMixer>(a.select(0, b).to(Device::cpu()).contiguous(), Tensor(), Tensor(), "a ViT block"));
        traces.push_back(std::move(t));
      }
      return traces;
    }
    for (int64_t b = 0; b < B; ++b)
      traces.push_back(trace_one(inputs.narrow(0, b, 1), targets.empty() ? -1 : targets[b].index, options.relevance));
    return traces;
  }

 private:
  Trace trace_one(const Tensor& input, int64_t target, bool with_relevance) const {
    const VitConfig& c = model_->config();
    Trace t = blank_trace(info_);
    Tensor x = input.detach().to(DType::F32).contiguous().to(device()).requires_grad_();
    const nn::FrozenParameters frozen(*model_);  // only input-side gradients are needed
    VitOutput out = model_->forward(x, /*trace=*/with_relevance);
    for (Tensor& a : out.attentions) a.retain_grad();
    t.logits = out.logits.detach().to(Device::cpu());
    t.target = choose_target(t.logits.select(0, 0), target, "class");
    out.logits.select(0, 0).select(0, t.target).backward();
    std::vector<Tensor> relevance;
    if (with_relevance && !c.distilled) relevance = attention_relevance(*model_, out, t.target);
    for (size_t l = 0; l < out.attentions.size(); ++l) {
      const Tensor& a = out.attentions[l];
      HATTN_CHECK(a.grad().defined(), "explain: an attention map received no gradient");
      t.mixers.push_back(std::make_shared<SoftmaxMixer>(a.detach().select(0, 0).to(Device::cpu()).contiguous(),
                                                    a.grad().select(0, 0).to(Device::cpu()).contiguous(),
                                                    relevance.empty() ? Tensor() : relevance[l], "a ViT block"));
    }
    t.input_grad = x.grad().select(0, 0).to(Device::cpu()).contiguous();
    t.input = x.detach().to(Device::cpu()).select(0, 0);
    return t;
  }

  std::shared_ptr<const VisionTransformer> model_;
  FamilyInfo info_;
};

int64_t heads_of(const LoadOptions& o) {
  const int64_t heads = option_int(o.values, "heads", 0);
  HATTN_CHECK_INPUT(heads > 0 || !o.values.count("heads"), "heads must be positive");
  return heads;
}

bool recognizes(const ModelFile& f) { return f.checkpoint().find("blocks.0.attn.qkv.weight") != nullptr; }

std::unique_ptr<Explainable> load_vit_family(const ModelFile& f, const LoadOptions& o) {
  const auto n = o.values.find("normalize");
  const Normalization norm = parse_normalization(n == o.values.end() ? "imagenet" : n->second);
  auto model = load_vit(f.checkpoint(), heads_of(o));
  if (o.device.is_cuda()) nn::move_parameters(*model, o.device);
  nn::freeze(*model);  // an inference model: explanations take input gradients only
  std::vector<std::string> names = class_names_for(f.checkpoint(), model->config().num_classes);
  return std::make_unique<VitExplainable>(std::move(model), norm, std::move(names));
}

std::string inspect_vit(const ModelFile& f, const LoadOptions& o) {
  const VitConfig c = infer_vit_config(f.checkpoint(), heads_of(o));
  return str(checkpoint_file_line(f.checkpoint()), "config      ", c.describe(), "\nresolved    heads ",
             o.values.count("heads") ? "as given" : "= width / 64 (or the file's metadata) unless given",
             "\nparameters  ", VisionTransformer(c).parameter_count(), "\n", checkpoint_extras_lines(f.checkpoint()));
}

}  // namespace

std::unique_ptr<Explainable> vision_transformer_explainable(std::shared_ptr<const VisionTransformer> model,
                                                            Normalization normalization,
                                                            std::vector<std::string> class_names) {
  return std::make_unique<VitExplainable>(std::move(model), normalization, std::move(class_names));
}

FamilyEntry vision_transformer_family() {
  return {"vit",
          "ViT/DeiT",
          "a ViT/DeiT checkpoint in timm's layout (blocks.N.attn.qkv.weight)",
          {{"heads", "ViT/DeiT: attention heads (default: width / 64, or what the file records)"},
           {"normalize", "input normalisation: imagenet (Vim, DeiT; the default) | half (mean = std = 0.5, Google's ViT)"}},
          recognizes,
          load_vit_family,
          inspect_vit};
}

}  // namespace ha::xai
