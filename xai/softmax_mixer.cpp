#include "xai/softmax_mixer.h"

#include <algorithm>

#include "ops/ops.h"

namespace ha::xai {

SoftmaxMixer::SoftmaxMixer(Tensor attn, Tensor grad, Tensor relevance, std::string what)
    : attn_(std::move(attn)), grad_(std::move(grad)), relevance_(std::move(relevance)), what_(std::move(what)) {}

Tensor SoftmaxMixer::matrices(int64_t c0, int64_t c1, const std::string& part) const {
  HATTN_CHECK_INPUT(part.empty(), what_, "'s attention has no directions (asked for '", part, "')");
  return attn_.narrow(0, c0, c1 - c0);
}

Tensor SoftmaxMixer::rows(int64_t q, RowKind kind) const {
  HATTN_CHECK_INPUT(kind == RowKind::Exact, what_, "'s attention rows have one kind (softmax probabilities)");
  return attn_.select(1, q).contiguous();
}

MixerStats SoftmaxMixer::compute_stats() const {
  MixerStats s;
  s.mean = mean(attn_, {0});
  s.mean_relu = mean(relu(attn_), {0});
  const std::vector<float> v = attn_.to_vector<float>();
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  return s;
}

std::vector<std::shared_ptr<const MixerOperator>> softmax_mixers(const std::vector<Tensor>& attentions, bool gradients,
                                                                 const std::vector<Tensor>& relevance,
                                                                 const std::string& what) {
  auto cpu = [](const Tensor& x) { return x.detach().to(Device::cpu()).contiguous(); };
  std::vector<std::shared_ptr<const MixerOperator>> out;
  for (size_t l = 0; l < attentions.size(); ++l) {
    const Tensor& a = attentions[l];
    Tensor grad;
    if (gradients) {
      HATTN_CHECK(a.grad().defined(), "explain: an attention map received no gradient");
      grad = cpu(a.grad().select(0, 0));
    }
    out.push_back(std::make_shared<SoftmaxMixer>(cpu(a.select(0, 0)), grad, relevance.empty() ? Tensor() : relevance[l],
                                                 what));
  }
  return out;
}

void set_text_transformer_info(FamilyInfo& f, const std::string& name, int64_t layers, int64_t heads, int64_t vocab) {
  f.modality = Modality::Tokens;
  f.form = MixerForm::Softmax;
  f.layers = layers;
  f.default_start_layer = 0;  // the released text-transformer notebooks'
  f.methods = {{Method::Raw, {}},    {Method::Rollout, {}},  {Method::Attr, {}},      {Method::Gae, {}},
               {Method::Random, {}}, {Method::Saliency, {}}, {Method::GradXInput, {}}};
  f.refusals[Method::Unified] = "unified is Mamba's implicit attention; a " + name + " has raw, rollout, attr "
                                "(Transformer-Attribution), gae and the baselines";
  f.refusals[Method::Lrp] = "lrp is MambaLRP, defined for Mamba models";
  f.mixer_unit = "head";
  f.mixer_units = heads;
  f.layout.modality = Modality::Tokens;
  f.layout.feature_dim = 1;
  f.vocab = vocab;
}

}  // namespace ha::xai
