// GPT-NeoX (Pythia) as an explainable family: per layer the causal softmax attention, one matrix per head, read at
// the query position whose next-token logit is explained (docs/definitions.md §10): raw (the last layer's head
// mean), rollout, attr (Transformer-Attribution, its relevance pass in xai/gpt_neox_lrp.h), gae and the baselines.
#include <filesystem>

#include "models/load_gpt_neox.h"
#include "nn/module.h"
#include "ops/ops.h"
#include "xai/gpt_neox_lrp.h"
#include "xai/registry.h"
#include "xai/softmax_mixer.h"

namespace ha::xai {
namespace {

class GptNeoxExplainable final : public Explainable {
 public:
  GptNeoxExplainable(std::shared_ptr<const GptNeox> model, std::vector<std::string> class_names)
      : model_(std::move(model)) {
    HATTN_CHECK(model_ != nullptr, "explainable: no model");
    const GptNeoxConfig& c = model_->config();
    FamilyInfo& f = info_;
    f.key = "gpt_neox";
    f.name = "GPT-NeoX LM";
    f.describe = c.describe();
    set_text_transformer_info(f, "GPT-NeoX model", c.n_layer, c.heads, c.vocab);
    f.default_query = -1;
    f.causal = true;
    if (c.labels > 0) {  // a sequence classifier: the classes at the last token
      f.name = "GPT-NeoX classifier";
      f.num_classes = c.labels;
      f.class_names = std::move(class_names);
    }
  }

  const FamilyInfo& info() const override { return info_; }
  Device device() const override { return model_->embed_in.device(); }

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

  std::vector<Tensor> streams(const Tensor& input) const override {
    NoGradGuard ng;
    const std::vector<int64_t> ids = checked_ids(input);
    return model_->forward(Tensor::from_vector(ids, {static_cast<int64_t>(ids.size())})).block_outputs;
  }

  std::vector<Trace> trace(const Tensor& inputs, const std::vector<Target>& targets,
                           const TraceOptions& options) const override {
    HATTN_CHECK(targets.size() <= 1, "explain: a language model explains one sequence at a time");
    const std::vector<int64_t> ids = checked_ids(inputs);
    const int64_t T = static_cast<int64_t>(ids.size());
    const Target target = targets.empty() ? Target{} : targets[0];
    const bool classifier = info_.classifies_tokens();
    HATTN_CHECK_INPUT(!classifier || target.position < 0 || target.position == T - 1, "explain: a decoder ",
                      "classifier reads its classes at the last token (", T - 1, "), not at ", target.position);
    Trace t = blank_token_trace(info_, T, target);
    std::unique_ptr<NoGradGuard> no_grad = options.gradients ? nullptr : std::make_unique<NoGradGuard>();
    const nn::FrozenParameters frozen(*model_);  // input-side gradients only
    GptNeoxForwardOptions o;
    o.attentions = true;
    o.retain_attention_grads = options.gradients;
    o.embeddings_require_grad = options.gradients;
    o.detach_logits = true;
    o.trace = options.gradients && options.relevance;  // what Transformer-Attribution's relevance pass reads
    const GptNeoxOutput out = model_->forward(Tensor::from_vector(ids, {T}), o);
    t.logits = out.logits.detach().to(Device::cpu()).select(0, 0);  // (T, V), a classifier's (T, labels)
    if (classifier) t.logits = t.logits.narrow(0, T - 1, 1);
    t.logits = t.logits.contiguous();
    t.target = choose_target(t.logits.select(0, classifier ? 0 : t.query), target.index, classifier ? "class" : "token");
    auto cpu = [](const Tensor& x) { return x.detach().to(Device::cpu()).contiguous(); };
    if (options.gradients) {
      // the one logit, as the head computes it: hidden · W[target]
      sum(mul(out.hidden.select(0, 0).select(0, t.query), model_->embed_out.select(0, t.target))).backward();
      t.input = cpu(out.embeddings.select(0, 0));
      t.input_grad = cpu(out.embeddings.grad().select(0, 0));
    }
    const std::vector<Tensor> relevance =
        o.trace ? gpt_neox_attention_relevance(*model_, out, t.query, t.target) : std::vector<Tensor>();
    t.mixers = softmax_mixers(out.attentions, options.gradients, relevance, "a GPT-NeoX layer");
    return {std::move(t)};
  }

 private:
  std::vector<int64_t> checked_ids(const Tensor& inputs) const { return checked_token_ids(inputs, info_.vocab); }

  std::shared_ptr<const GptNeox> model_;
  FamilyInfo info_;
};

bool recognizes(const ModelFile& f) { return looks_like_gpt_neox(f.path()); }

std::unique_ptr<Explainable> load_family(const ModelFile& f, const LoadOptions& o) {
  auto model = load_gpt_neox(f.path());
  if (o.device.is_cuda()) nn::move_parameters(*model, o.device);
  nn::freeze(*model);
  const int64_t labels = model->config().labels;
  std::vector<std::string> names = labels > 0 ? config_label_names(find_lm_files(f.path()), labels)
                                              : std::vector<std::string>();
  return std::make_unique<GptNeoxExplainable>(std::move(model), std::move(names));
}

std::string inspect(const ModelFile& f, const LoadOptions&) {
  const LmFiles files = find_lm_files(f.path());
  const Checkpoint ckpt = open_lm_checkpoint(files);
  int64_t stored = 0;
  for (const TensorRecord& r : ckpt.records()) stored += numel_of(r.shape);
  const GptNeoxConfig c = infer_gpt_neox_config(ckpt, files);
  return str("files       ", files.folder, " (", ckpt.format(), ", ", ckpt.records().size(), " tensors, ", stored,
             " values), ", files.config, "\nconfig      ", c.describe(), "\nparameters  ", GptNeox(c).parameter_count(),
             "\n");
}

}  // namespace

std::unique_ptr<Explainable> gpt_neox_explainable(std::shared_ptr<const GptNeox> model) {
  return std::make_unique<GptNeoxExplainable>(std::move(model), std::vector<std::string>());
}

FamilyEntry gpt_neox_family() {
  return {"gpt_neox",
          "GPT-NeoX language model",
          "a GPT-NeoX (Pythia) language model in Hugging Face's layout (a folder with config.json, model_type gpt_neox)",
          {},
          recognizes,
          load_family,
          inspect};
}

}  // namespace ha::xai
