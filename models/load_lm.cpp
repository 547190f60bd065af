#include "models/load_lm.h"

#include <cmath>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "models/io/json.h"
#include "models/io/read_file.h"
#include "models/load.h"

namespace ha {
namespace fs = std::filesystem;
namespace {

bool is_weights_name(const std::string& name) {
  return name == "pytorch_model.bin" || name == "model.safetensors" || name == "model.safetensors.index.json";
}

const TensorRecord& require(const Checkpoint& c, const std::string& name, size_t rank) {
  const TensorRecord* r = c.find(name);
  HATTN_CHECK_INPUT(r != nullptr, "'", c.path(), "': cannot infer the language model's configuration: no tensor '",
                    name, "'");
  HATTN_CHECK_INPUT(r->shape.size() == rank, "'", c.path(), "': tensor '", name, "' has shape ", shape_str(r->shape),
                    ", expected ", rank, " dims");
  return *r;
}

// An integer from config.json under any of `names`, at the top level or in ssm_cfg; `fallback` when absent.
int64_t config_int(const json::Value* cfg, const std::string& path, std::initializer_list<const char*> names,
                   int64_t fallback, bool* found = nullptr) {
  if (found) *found = false;
  if (!cfg) return fallback;
  for (const json::Value* scope : {cfg->find("ssm_cfg"), cfg}) {
    if (!scope || scope->kind != json::Value::Kind::Object) continue;
    for (const char* n : names) {
      const json::Value* v = scope->find(n);
      if (!v || v->kind == json::Value::Kind::Null) continue;
      HATTN_CHECK_INPUT(v->kind == json::Value::Kind::Number && v->is_integer(), "'", path, "': '", n,
                        "' is not a non-negative integer");
      if (found) *found = true;
      return v->as_int();
    }
  }
  return fallback;
}

}  // namespace

namespace {

// A folder's config.json describes a Mamba language model: Hugging Face's model_type, or state-spaces' keys.
// Weights names alone do not tell (`hattn train` writes a Vim's model.safetensors; timm's folders have a
// config.json too). A config that cannot be read counts, so that the language-model loader names what is wrong.
bool config_describes_lm(const fs::path& folder) {
  std::error_code ec;
  const fs::path config = folder / "config.json";
  if (!fs::exists(config, ec)) return false;
  try {
    const json::Value cfg = json::parse(read_whole_file(config.string(), 1 << 20, "config file"), config.string());
    if (cfg.kind != json::Value::Kind::Object) return true;
    const json::Value* type = cfg.find("model_type");
    if (type && type->kind == json::Value::Kind::String) return type->text == "mamba" || type->text == "mamba2";
    return cfg.find("d_model") != nullptr || cfg.find("ssm_cfg") != nullptr;
  } catch (const InputError&) {
    return true;
  }
}

}  // namespace

bool looks_like_lm(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return config_describes_lm(path);
  const fs::path p(path);
  const std::string name = p.filename().string();
  if (name == "config.json") return true;
  const bool weights_name = is_weights_name(name) || (p.extension() == ".safetensors" && name.rfind("model-", 0) == 0);
  return weights_name && config_describes_lm(p.parent_path().empty() ? fs::path(".") : p.parent_path());
}

std::string config_model_type(const std::string& path) {
  std::error_code ec;
  fs::path folder = fs::is_directory(path, ec) ? fs::path(path) : fs::path(path).parent_path();
  if (folder.empty()) folder = ".";
  const fs::path config = folder / "config.json";
  if (!fs::exists(config, ec)) return "";
  try {
    const json::Value cfg = json::parse(read_whole_file(config.string(), 1 << 20, "config file"), config.string());
    const json::Value* type = cfg.kind == json::Value::Kind::Object ? cfg.find("model_type") : nullptr;
    return type && type->kind == json::Value::Kind::String ? type->text : "";
  } catch (const InputError&) {
    return "";
  }
}

std::vector<std::string> config_label_names(const LmFiles& files, int64_t labels) {
  std::vector<std::string> names(labels);
  for (int64_t k = 0; k < labels; ++k) names[k] = std::to_string(k);
  if (files.config.empty()) return names;
  const json::Value cfg = json::parse(read_whole_file(files.config, 1 << 20, "config file"), "'" + files.config + "'");
  const json::Value* map = cfg.kind == json::Value::Kind::Object ? cfg.find("id2label") : nullptr;
  if (!map || map->kind != json::Value::Kind::Object) return names;
  std::vector<std::string> found(labels);
  for (const auto& [key, value] : map->members) {
    char* end = nullptr;
    const long k = std::strtol(key.c_str(), &end, 10);
    if (key.empty() || *end != '\0' || k < 0 || k >= labels || value.kind != json::Value::Kind::String) return names;
    found[k] = value.text;
  }
  for (const std::string& n : found)
    if (n.empty()) return names;
  return found;
}

LmFiles find_lm_files(const std::string& path) {
  std::error_code ec;
  HATTN_CHECK_INPUT(fs::exists(path, ec), "'", path, "': no such file or folder");
  LmFiles files;
  fs::path weights;
  if (fs::is_directory(path, ec)) {
    files.folder = path;
    for (const char* name : {"model.safetensors.index.json", "model.safetensors", "pytorch_model.bin"}) {
      if (fs::exists(fs::path(path) / name, ec)) {
        weights = fs::path(path) / name;
        break;
      }
    }
    HATTN_CHECK_INPUT(!weights.empty(), "'", path, "': no model weights in this folder (expected model.safetensors, "
                      "model.safetensors.index.json with its shards, or pytorch_model.bin)");
  } else if (fs::path(path).filename() == "config.json") {
    return find_lm_files(fs::path(path).parent_path().string().empty() ? "." : fs::path(path).parent_path().string());
  } else {
    weights = path;
    files.folder = fs::path(path).parent_path().string();
    if (files.folder.empty()) files.folder = ".";
  }
  const fs::path config = fs::path(files.folder) / "config.json";
  if (fs::exists(config, ec)) files.config = config.string();
  if (weights.filename() == "model.safetensors.index.json") {
    const json::Value index = json::parse(read_whole_file(weights.string(), 64 << 20, "shard index"), "'" + weights.string() + "'");
    const json::Value* map = index.find("weight_map");
    HATTN_CHECK_INPUT(map && map->kind == json::Value::Kind::Object && !map->members.empty(), "'", weights.string(),
                      "': no 'weight_map' object");
    std::set<std::string> shards;
    for (const auto& [key, file] : map->members) {
      HATTN_CHECK_INPUT(file.kind == json::Value::Kind::String && !file.text.empty() &&
                            file.text.find('/') == std::string::npos && file.text.find('\\') == std::string::npos,
                        "'", weights.string(), "': tensor '", key, "' maps to a bad shard name");
      shards.insert(file.text);
    }
    for (const std::string& s : shards) {
      const fs::path shard = weights.parent_path() / s;
      HATTN_CHECK_INPUT(fs::exists(shard, ec), "'", weights.string(), "': shard '", shard.string(), "' is missing");
      files.weights.push_back(shard.string());
    }
  } else {
    files.weights.push_back(weights.string());
  }
  return files;
}

Checkpoint open_lm_checkpoint(const LmFiles& files) {
  std::vector<Checkpoint> parts;
  for (const std::string& w : files.weights) parts.push_back(Checkpoint::open(w));
  Checkpoint ckpt = parts.size() == 1 ? std::move(parts[0]) : Checkpoint::merge(files.folder, std::move(parts));
  ckpt.rename("backbone.embeddings.weight", "backbone.embedding.weight");  // Hugging Face's spelling
  return ckpt;
}

LmConfig infer_lm_config(const Checkpoint& ckpt, const LmFiles& files, std::string* how) {
  std::unique_ptr<json::Value> cfg;
  if (!files.config.empty()) {
    cfg = std::make_unique<json::Value>(json::parse(read_whole_file(files.config, 1 << 20, "config file"), "'" + files.config + "'"));
    HATTN_CHECK_INPUT(cfg->kind == json::Value::Kind::Object, "'", files.config, "': not a JSON object");
  }
  const std::string& where = ckpt.path();
  std::string notes;
  LmConfig c;
  const TensorRecord& emb = require(ckpt, "backbone.embedding.weight", 2);
  c.vocab = emb.shape[0];
  c.d_model = emb.shape[1];
  c.n_layer = count_indexed(ckpt, "backbone.layers.");
  HATTN_CHECK_INPUT(c.n_layer > 0, "'", where, "': no 'backbone.layers.*' tensors: not a Mamba language model");
  const std::string m = "backbone.layers.0.mixer.";
  const TensorRecord* alog_any = ckpt.find(m + "A_log");  // Mamba-1: (E, N); Mamba-2: (H)
  const TensorRecord& alog = require(ckpt, m + "A_log", alog_any && alog_any->shape.size() == 1 ? 1 : 2);
  c.family = alog.shape.size() == 1 ? LmFamily::Mamba2 : LmFamily::Mamba1;
  if (cfg) {  // the file's own statement of the family must agree with the shapes
    const json::Value* type = cfg->find("model_type");
    const json::Value* ssm = cfg->find("ssm_cfg");
    const json::Value* layer = ssm ? ssm->find("layer") : nullptr;
    std::string stated;
    if (type) {
      HATTN_CHECK_INPUT(type->kind == json::Value::Kind::String && (type->text == "mamba" || type->text == "mamba2"),
                        "'", files.config, "': model_type ", type->kind == json::Value::Kind::String ? "'" + type->text + "'" : "(not a string)",
                        " is not a Mamba language model's (mamba or mamba2)");
      stated = type->text == "mamba" ? "mamba1" : "mamba2";
    }
    if (layer) {
      HATTN_CHECK_INPUT(layer->kind == json::Value::Kind::String && (layer->text == "Mamba1" || layer->text == "Mamba2"),
                        "'", files.config, "': ssm_cfg.layer ", layer->kind == json::Value::Kind::String ? "'" + layer->text + "'" : "(not a string)",
                        " is neither Mamba1 nor Mamba2");
      stated = layer->text == "Mamba2" ? "mamba2" : "mamba1";
    }
    HATTN_CHECK_INPUT(stated.empty() || stated == lm_family_name(c.family), "'", files.config, "' says ", stated,
                      " but the tensors' shapes are ", lm_family_name(c.family), "'s");
  }
  const TensorRecord& conv = require(ckpt, m + "conv1d.weight", 3);
  c.d_conv = conv.shape[2];
  const TensorRecord& out = require(ckpt, m + "out_proj.weight", 2);
  c.d_inner = out.shape[1];
  HATTN_CHECK_INPUT(c.d_inner % c.d_model == 0, "'", where, "': ", c.d_inner, " inner channels are not a multiple of ",
                    c.d_model);
  const std::string cpath = files.config.empty() ? std::string("config.json") : files.config;
  // What config.json states about a size the shapes give must agree with them (it is not read otherwise).
  auto check_stated = [&](std::initializer_list<const char*> names, int64_t actual, const char* what) {
    bool found = false;
    const int64_t stated = config_int(cfg.get(), cpath, names, actual, &found);
    HATTN_CHECK_INPUT(!found || stated == actual, "'", cpath, "' says ", what, " ", stated, " but the tensors' shapes ",
                      "give ", actual);
  };
  check_stated({"d_model", "hidden_size"}, c.d_model, "width");
  check_stated({"n_layer", "num_hidden_layers"}, c.n_layer, "layer count");
  if (c.family == LmFamily::Mamba1) {
    c.d_state = alog.shape[1];
    c.dt_rank = require(ckpt, m + "dt_proj.weight", 2).shape[1];
    check_stated({"d_state", "state_size"}, c.d_state, "state size");
  } else {
    c.nheads = alog.shape[0];
    const int64_t gn2 = conv.shape[0] - c.d_inner;
    HATTN_CHECK_INPUT(gn2 > 0 && gn2 % 2 == 0 && c.nheads > 0 && c.d_inner % c.nheads == 0, "'", where,
                      "': conv1d has ", conv.shape[0], " channels for ", c.d_inner, " inner channels and ", c.nheads,
                      " heads: not a Mamba-2 layer");
    bool n_found = false, g_found = false, p_found = false;
    c.d_state = config_int(cfg.get(), cpath, {"d_state", "state_size"}, 128, &n_found);
    c.ngroups = config_int(cfg.get(), cpath, {"ngroups", "n_groups"}, 1, &g_found);
    const int64_t headdim = config_int(cfg.get(), cpath, {"headdim", "head_dim"}, c.d_inner / c.nheads, &p_found);
    if (!n_found) notes += "\nd_state = 128 (mamba_ssm's default; config.json does not say)";
    if (!g_found) notes += "\nngroups = 1 (mamba_ssm's default; config.json does not say)";
    HATTN_CHECK_INPUT(c.d_state > 0 && c.ngroups > 0 && c.ngroups * c.d_state * 2 == gn2, "'", where, "': conv1d's ",
                      gn2, " B/C channels are not 2 x ngroups (", c.ngroups, ") x d_state (", c.d_state,
                      "); set them in config.json");
    HATTN_CHECK_INPUT(c.nheads % c.ngroups == 0, "'", where, "': ", c.nheads, " heads do not split into ", c.ngroups,
                      " groups");
    HATTN_CHECK_INPUT(headdim * c.nheads == c.d_inner, "'", cpath, "': head size ", headdim, " x ", c.nheads,
                      " heads is not the ", c.d_inner, " inner channels");
  }
  c.eps = 1e-5;
  if (const json::Value* eps = cfg ? cfg->find("layer_norm_epsilon") : nullptr; eps && eps->kind != json::Value::Kind::Null) {
    HATTN_CHECK_INPUT(eps->kind == json::Value::Kind::Number && std::isfinite(eps->number) && eps->number > 0 &&
                          eps->number < 1,
                      "'", files.config, "': layer_norm_epsilon must be a number in (0, 1)");
    c.eps = eps->number;
  }
  // Tied unless the file says otherwise (Hugging Face's Mamba-2 defaults to untied); a missing head is tied.
  bool tied = !(cfg && cfg->find("model_type") && cfg->find("model_type")->text == "mamba2");
  for (const char* key : {"tie_embeddings", "tie_word_embeddings"}) {
    const json::Value* v = cfg ? cfg->find(key) : nullptr;
    if (v && v->kind == json::Value::Kind::Bool) tied = v->boolean;
  }
  // classifiers: Hugging Face's score.weight, or MambaLRP's lm_head with `labels` rows and a bias
  const TensorRecord* score = ckpt.find("score.weight");
  const TensorRecord* head = ckpt.find("lm_head.weight");
  const TensorRecord* bias = ckpt.find("lm_head.bias");
  if (score || bias) {
    const TensorRecord& w = score ? *score : *head;
    HATTN_CHECK_INPUT(score || head, "'", where, "': lm_head.bias without lm_head.weight");
    HATTN_CHECK_INPUT(w.shape.size() == 2 && w.shape[1] == c.d_model && w.shape[0] > 0, "'", where, "': the ",
                      "classifier head ", score ? "score.weight" : "lm_head.weight", " has shape ", shape_str(w.shape),
                      ", expected [labels, ", c.d_model, "]");
    HATTN_CHECK_INPUT(!(score && head), "'", where, "': both score.weight and lm_head.weight: which is the head?");
    c.labels = w.shape[0];
    c.head_bias = !score;
    HATTN_CHECK_INPUT(!bias || (bias->shape.size() == 1 && bias->shape[0] == c.labels), "'", where,
                      "': lm_head.bias has shape ", bias ? shape_str(bias->shape) : "", ", expected [", c.labels, "]");
    c.tied = false;
  } else {
    if (!head) {
      if (!tied) notes += "\nlm_head.weight is absent: the head is tied to the embedding";
      tied = true;
    }
    c.tied = tied;
  }
  if (files.config.empty()) notes = "\nno config.json beside the weights: everything from the shapes" + notes;
  if (how) *how = notes.empty() ? notes : notes.substr(1);
  return c;
}

std::unique_ptr<MambaLM> load_lm(const std::string& path, std::string* how) {
  const LmFiles files = find_lm_files(path);
  const Checkpoint ckpt = open_lm_checkpoint(files);
  const LmConfig c = infer_lm_config(ckpt, files, how);
  auto model = std::make_unique<MambaLM>(c);
  std::set<std::string> ignored;
  if (c.tied) ignored.insert("lm_head.weight");  // a tied head saved as its own tensor (state-spaces .bin)
  load_parameters(*model, ckpt, ignored);
  return model;
}

}  // namespace ha
