// A BERT sequence classifier as an explainable family: per layer the softmax attention, one matrix per head, read at
// the [CLS] row (docs/definitions.md §11): raw (the last layer's head mean), rollout, attr (Transformer-Attribution,
// its relevance pass in xai/bert_lrp.h), gae and the baselines, explaining a class. As Chefer's released BERT code
// leaves them, raw and rollout hold 0 at [CLS] itself and attr the row's minimum.
#include <algorithm>

#include "models/load_bert.h"
#include "nn/module.h"
#include "ops/ops.h"
#include "xai/bert_lrp.h"
#include "xai/registry.h"
#include "xai/softmax_mixer.h"

namespace ha::xai {
namespace {

class BertExplainable final : public Explainable {
 public:
  BertExplainable(std::shared_ptr<const BertClassifier> model, std::vector<std::string> class_names)
      : model_(std::move(model)) {
    HATTN_CHECK(model_ != nullptr, "explainable: no model");
    const BertConfig& c = model_->config();
    FamilyInfo& f = info_;
    f.key = "bert";
    f.name = "BERT classifier";
    f.describe = c.describe();
    set_text_transformer_info(f, "BERT classifier", c.n_layer, c.heads, c.vocab);
    f.default_query = 0;  // [CLS]
    f.causal = false;
    f.query_entry = {{Method::Raw, QueryEntry::Zero}, {Method::Rollout, QueryEntry::Zero},
                     {Method::Attr, QueryEntry::RowMin}};
    f.num_classes = c.labels;
    f.class_names = std::move(class_names);
  }

  const FamilyInfo& info() const override { return info_; }
  Device device() const override { return model_->word_embeddings.device(); }

  Tensor logits(const Tensor& inputs) const override {
    NoGradGuard ng;
    const std::vector<int64_t> ids = checked_ids(inputs);
    return model_->forward(Tensor::from_vector(ids, {static_cast<int64_t>(ids.size())})).logits.to(Device::cpu());
  }

  Tensor padded_logits(const Tensor& ids, const std::vector<int64_t>& lengths) const override {
    NoGradGuard ng;
    checked_token_batch(ids, info_.vocab);
    const int64_t B = ids.size(0), T = ids.size(1);
    HATTN_CHECK_INPUT(T <= model_->config().max_positions, "the input has ", T, " tokens; this BERT model takes at most ",
                      model_->config().max_positions);
    Tensor mask;  // the padded keys masked, as Hugging Face's attention_mask does
    if (std::any_of(lengths.begin(), lengths.end(), [&](int64_t L) { return L < T; })) {
      std::vector<int64_t> m(static_cast<size_t>(B * T), 0);
      for (int64_t b = 0; b < B; ++b) std::fill_n(m.begin() + b * T, lengths[b], 1);
      mask = Tensor::from_vector(m, {B, T});
    }
    return model_->forward(ids, mask).logits.to(Device::cpu()).contiguous();
  }

  std::vector<Tensor> streams(const Tensor& input) const override {
    NoGradGuard ng;
    const std::vector<int64_t> ids = checked_ids(input);
    return model_->forward(Tensor::from_vector(ids, {static_cast<int64_t>(ids.size())})).block_outputs;
  }

  std::vector<Trace> trace(const Tensor& inputs, const std::vector<Target>& targets,
                           const TraceOptions& options) const override {
    HATTN_CHECK(targets.size() <= 1, "explain: a text classifier explains one sequence at a time");
    const std::vector<int64_t> ids = checked_ids(inputs);
    const int64_t T = static_cast<int64_t>(ids.size());
    const Target target = targets.empty() ? Target{} : targets[0];
    HATTN_CHECK_INPUT(target.position <= 0, "explain: a BERT classifier reads the [CLS] row (position 0), not ",
                      target.position);
    Trace t = blank_token_trace(info_, T, {target.index, 0});
    std::unique_ptr<NoGradGuard> no_grad = options.gradients ? nullptr : std::make_unique<NoGradGuard>();
    const nn::FrozenParameters frozen(*model_);  // input-side gradients only
    BertForwardOptions o;
    o.attentions = true;
    o.retain_attention_grads = options.gradients;
    o.embeddings_require_grad = options.gradients;
    o.trace = options.gradients && options.relevance;
    const BertOutput out = model_->forward(Tensor::from_vector(ids, {T}), {}, o);
    t.logits = out.logits.detach().to(Device::cpu()).contiguous();
    t.target = choose_target(t.logits.select(0, 0), target.index, "class");
    auto cpu = [](const Tensor& x) { return x.detach().to(Device::cpu()).contiguous(); };
    if (options.gradients) {
      out.logits.select(0, 0).select(0, t.target).backward();
      t.input = cpu(out.embeddings.select(0, 0));
      t.input_grad = cpu(out.embeddings.grad().select(0, 0));
    }
    const std::vector<Tensor> relevance = o.trace ? bert_attention_relevance(*model_, out, t.target) : std::vector<Tensor>();
    t.mixers = softmax_mixers(out.attentions, options.gradients, relevance, "a BERT layer");
    return {std::move(t)};
  }

 private:
  std::vector<int64_t> checked_ids(const Tensor& inputs) const {
    const std::vector<int64_t> ids = checked_token_ids(inputs, info_.vocab);
    HATTN_CHECK_INPUT(static_cast<int64_t>(ids.size()) <= model_->config().max_positions, "the input has ",
                      ids.size(), " tokens; this BERT model takes at most ", model_->config().max_positions,
                      " (truncate it: --max-tokens)");
    return ids;
  }

  std::shared_ptr<const BertClassifier> model_;
  FamilyInfo info_;
};

bool recognizes(const ModelFile& f) { return looks_like_bert(f.path()); }

std::unique_ptr<Explainable> load_family(const ModelFile& f, const LoadOptions& o) {
  auto model = load_bert(f.path());
  if (o.device.is_cuda()) nn::move_parameters(*model, o.device);
  nn::freeze(*model);
  std::vector<std::string> names = config_label_names(find_lm_files(f.path()), model->config().labels);
  return std::make_unique<BertExplainable>(std::move(model), std::move(names));
}

std::string inspect(const ModelFile& f, const LoadOptions&) {
  const LmFiles files = find_lm_files(f.path());
  const Checkpoint ckpt = open_lm_checkpoint(files);
  int64_t stored = 0;
  for (const TensorRecord& r : ckpt.records()) stored += numel_of(r.shape);
  const BertConfig c = infer_bert_config(ckpt, files);
  std::string labels;
  for (const std::string& n : config_label_names(files, c.labels)) labels += (labels.empty() ? "" : ", ") + n;
  return str("files       ", files.folder, " (", ckpt.format(), ", ", ckpt.records().size(), " tensors, ", stored,
             " values), ", files.config, "\nconfig      ", c.describe(), "\nclasses     ", labels, "\nparameters  ",
             BertClassifier(c).parameter_count(), "\n");
}

}  // namespace

FamilyEntry bert_family() {
  return {"bert",
          "BERT sequence classifier",
          "a BERT sequence classifier in Hugging Face's layout (a folder with config.json, model_type bert)",
          {},
          recognizes,
          load_family,
          inspect};
}

}  // namespace ha::xai
