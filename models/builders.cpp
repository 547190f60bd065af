#include "models/builders.h"

#include <algorithm>
#include <filesystem>

#include "models/bert.h"
#include "models/cluttered.h"
#include "models/init.h"
#include "models/io/checkpoint.h"
#include "models/load.h"
#include "models/mamba_lm.h"
#include "models/save_lm.h"
#include "models/vision_transformer.h"

namespace ha {
namespace {

BuiltModel built_vim(const VimConfig& c, uint64_t seed) {
  auto model = std::make_shared<VisionMamba>(c);
  initialize_parameters(*model, seed);
  BuiltModel b;
  b.module = model;
  b.logits = [model](const Tensor& images) { return model->forward(images).logits; };
  add_config_metadata(c, b.metadata);
  b.describe = c.describe();
  b.save = [model](const std::string& path, const std::map<std::string, std::string>& extra) {
    save_vim_safetensors(*model, path, extra);
    return path;
  };
  return b;
}

BuiltModel built_vit(const VitConfig& c, uint64_t seed) {
  auto model = std::make_shared<VisionTransformer>(c);
  initialize_parameters(*model, seed);
  BuiltModel b;
  b.module = model;
  b.logits = [model](const Tensor& images) { return model->forward(images).logits; };
  b.metadata = {{"family", "vit"}, {"config.heads", std::to_string(c.heads)}, {"config.normalize", "imagenet"}};
  b.describe = c.describe();
  b.save = [model, meta = b.metadata](const std::string& path, const std::map<std::string, std::string>& extra) {
    std::map<std::string, std::string> all = extra;
    all.insert(meta.begin(), meta.end());
    save_safetensors(path, model->named_parameters(), all);
    return path;
  };
  return b;
}

// A language model written as a folder (config.json + model.safetensors) by `save_folder(model, folder, extra)`.
template <class Model, class Config, class SaveFolder>
BuiltModel built_lm_folder(const Config& c, uint64_t seed, SaveFolder save_folder) {
  auto model = std::make_shared<Model>(c);
  initialize_parameters(*model, seed);
  BuiltModel b;
  b.module = model;
  b.describe = c.describe();
  b.save = [model, save_folder](const std::string& folder, const std::map<std::string, std::string>& extra) {
    std::error_code ec;
    std::filesystem::create_directories(folder, ec);
    HATTN_CHECK_INPUT(!ec && std::filesystem::is_directory(folder), "cannot create the folder '", folder, "'",
                      ec ? ": " + ec.message() : std::string());
    save_folder(*model, folder, extra);
    return folder + "/{config.json, model.safetensors}";
  };
  return b;
}

BuiltModel built_lm(const LmConfig& c, uint64_t seed, const std::vector<std::string>& labels = {}) {
  return built_lm_folder<MambaLM>(
      c, seed, [labels](const MambaLM& m, const std::string& folder, const std::map<std::string, std::string>& extra) {
        save_lm_folder(m, folder, extra, labels);
      });
}

BuiltModel built_gpt_neox(const GptNeoxConfig& c, uint64_t seed) {
  return built_lm_folder<GptNeox>(c, seed, save_gpt_neox_folder);
}

BuiltModel built_bert(const BertConfig& c, uint64_t seed, const std::vector<std::string>& labels = {}) {
  return built_lm_folder<BertClassifier>(
      c, seed,
      [labels](const BertClassifier& m, const std::string& folder, const std::map<std::string, std::string>& extra) {
        save_bert_folder(m, folder, extra, labels);
      });
}

}  // namespace

std::vector<std::string> released_shapes() {
  return {"tiny",       "small",      "base",        "deit-tiny",   "deit-small",
          "deit-base",  "mamba-130m", "mamba2-130m", "pythia-160m", "bert-base"};
}

bool is_released_shape(const std::string& name) {
  const std::vector<std::string> all = released_shapes();
  return std::find(all.begin(), all.end(), name) != all.end();
}

std::vector<std::string> cluttered_architectures() { return {"vim", "vit"}; }

bool is_cluttered_architecture(const std::string& arch) { return arch == "vim" || arch == "vit"; }

BuiltModel build_released_shape(const std::string& name, int64_t stride, uint64_t seed) {
  if (name == "pythia-160m") {  // EleutherAI/pythia-160m's config.json
    GptNeoxConfig c;
    c.vocab = 50304, c.d_model = 768, c.n_layer = 12, c.heads = 12, c.d_ff = 3072;
    c.rotary_pct = 0.25, c.rotary_base = 10000, c.eps = 1e-5, c.parallel_residual = true, c.max_positions = 2048;
    return built_gpt_neox(c, seed);
  }
  if (name == "bert-base") {  // bert-base-uncased's shape with a two-class head (as the IMDb classifiers have)
    return built_bert(BertConfig{}, seed);
  }
  if (name == "mamba-130m" || name == "mamba2-130m") {
    LmConfig c;
    c.family = name == "mamba-130m" ? LmFamily::Mamba1 : LmFamily::Mamba2;
    c.d_model = 768, c.n_layer = 24, c.d_inner = 1536, c.d_conv = 4, c.tied = true;
    c.vocab = c.family == LmFamily::Mamba1 ? 50280 : 50288;
    c.d_state = c.family == LmFamily::Mamba1 ? 16 : 128;
    c.dt_rank = 48, c.nheads = 24, c.ngroups = 1;
    return built_lm(c, seed);
  }
  if (name.rfind("deit-", 0) == 0) {
    VitConfig c = VitConfig::deit_tiny();
    if (name == "deit-small") c.d_model = 384, c.heads = 6, c.mlp_hidden = 1536;
    else if (name == "deit-base") c.d_model = 768, c.heads = 12, c.mlp_hidden = 3072;
    else if (name != "deit-tiny") throw InputError("unknown configuration '" + name + "' (deit-tiny, deit-small, deit-base)");
    return built_vit(c, seed);
  }
  VimConfig c;
  if (name == "tiny") c = VimConfig::tiny();
  else if (name == "small") c = VimConfig::small();
  else if (name == "base") c = VimConfig::base();
  else throw InputError("unknown configuration '" + name + "' (tiny, small, base, deit-tiny, deit-small, deit-base, "
                        "mamba-130m, mamba2-130m, pythia-160m, bert-base)");
  c.stride = stride;
  HATTN_CHECK_INPUT(c.stride > 0 && c.stride <= c.patch, "the stride must be in 1..", c.patch, ", got ", stride);
  return built_vim(c, seed);
}

BuiltModel build_text_model(const TextModelShape& s, uint64_t seed) {
  HATTN_CHECK_INPUT(s.width > 0 && s.layers > 0 && s.vocab > 0 && s.classes >= 0, "a text model needs a positive ",
                    "width, layers and vocabulary");
  if (s.arch == "bert") {
    HATTN_CHECK_INPUT(s.classes > 0, "a BERT model here is a classifier (train it on a labelled task)");
    BertConfig c;
    c.vocab = s.vocab, c.d_model = s.width, c.n_layer = s.layers, c.heads = s.heads, c.d_ff = 4 * s.width;
    c.max_positions = s.max_positions, c.labels = s.classes;
    HATTN_CHECK_INPUT(s.heads > 0 && s.width % s.heads == 0, "the heads (", s.heads, ") must divide the width");
    BuiltModel b = built_bert(c, seed, s.class_names);
    auto model = std::static_pointer_cast<BertClassifier>(b.module);
    b.logits = [model](const Tensor& ids) { return model->forward(ids).logits; };
    return b;
  }
  if (s.arch == "gpt_neox") {
    GptNeoxConfig c;
    c.vocab = s.vocab, c.d_model = s.width, c.n_layer = s.layers, c.heads = s.heads, c.d_ff = 4 * s.width;
    c.rotary_pct = 1.0, c.max_positions = s.max_positions, c.labels = s.classes;  // short sequences: position in every dim
    HATTN_CHECK_INPUT(s.heads > 0 && s.width % s.heads == 0, "the heads (", s.heads, ") must divide the width");
    HATTN_CHECK_INPUT(s.classes == 0, "a GPT-NeoX classifier cannot be trained here yet (its folder would lack the "
                      "class names); train a language model");
    BuiltModel b = built_gpt_neox(c, seed);
    auto model = std::static_pointer_cast<GptNeox>(b.module);
    b.logits = [model](const Tensor& ids) {
      GptNeoxForwardOptions o;
      return model->forward(ids, o).logits.select(1, ids.size(1) - 1);
    };
    return b;
  }
  HATTN_CHECK_INPUT(s.arch == "mamba1" || s.arch == "mamba2", "--arch must be mamba1, mamba2, gpt_neox or bert, not '",
                    s.arch, "'");
  LmConfig c;
  c.family = s.arch == "mamba1" ? LmFamily::Mamba1 : LmFamily::Mamba2;
  c.d_model = s.width, c.n_layer = s.layers, c.d_state = s.d_state, c.vocab = s.vocab;
  c.d_inner = 2 * s.width, c.d_conv = 4, c.dt_rank = (s.width + 15) / 16;
  if (c.family == LmFamily::Mamba2) {
    HATTN_CHECK_INPUT(s.headdim > 0 && c.d_inner % s.headdim == 0, "--headdim must divide the inner width ", c.d_inner);
    c.nheads = c.d_inner / s.headdim, c.ngroups = 1;
  }
  c.tied = s.classes == 0;
  c.labels = s.classes;  // a classifier: Hugging Face's score head
  BuiltModel b = built_lm(c, seed, s.class_names);
  auto model = std::static_pointer_cast<MambaLM>(b.module);
  b.logits = [model](const Tensor& ids) { return model->forward(ids).logits.select(1, ids.size(1) - 1); };
  return b;
}

BuiltModel build_cluttered_model(const std::string& arch, int64_t width, int64_t depth, int64_t heads, int64_t classes,
                                 uint64_t seed) {
  HATTN_CHECK_INPUT(arch == "vim" || arch == "vit", "the architecture must be vim or vit, got '", arch, "'");
  HATTN_CHECK_INPUT(width > 0 && depth > 0, "the width and depth must be positive");
  if (arch == "vim") {
    HATTN_CHECK_INPUT(heads == 0, "heads apply to the vit architecture");
    VimConfig c;
    c.d_model = width;
    c.depth = depth;
    c.patch = c.stride = 4;
    c.img_size = ClutteredFashion::kCanvas;
    c.dt_rank = (c.d_model + 15) / 16;
    c.num_classes = classes;
    return built_vim(c, seed);
  }
  VitConfig c;
  c.d_model = width;
  c.depth = depth;
  c.heads = heads > 0 ? heads : std::max<int64_t>(1, width / 32);
  HATTN_CHECK_INPUT(width % c.heads == 0, "the heads (", c.heads, ") must divide the width (", width, ")");
  c.mlp_hidden = 4 * width;
  c.patch = 4;
  c.img_size = ClutteredFashion::kCanvas;
  c.num_classes = classes;
  return built_vit(c, seed);
}

}  // namespace ha
