#include "models/load_gpt_neox.h"

#include <filesystem>
#include <set>

#include "models/io/json.h"
#include "models/io/read_file.h"
#include "models/load.h"

namespace ha {
namespace {

std::unique_ptr<json::Value> read_config(const std::string& path) {
  auto cfg = std::make_unique<json::Value>(json::parse(read_whole_file(path, 1 << 20, "config file"), "'" + path + "'"));
  HATTN_CHECK_INPUT(cfg->kind == json::Value::Kind::Object, "'", path, "': not a JSON object");
  return cfg;
}

const json::Value* member(const json::Value& cfg, const char* key, json::Value::Kind kind, const std::string& path) {
  const json::Value* v = cfg.find(key);
  if (!v || v->kind == json::Value::Kind::Null) return nullptr;
  HATTN_CHECK_INPUT(v->kind == kind, "'", path, "': '", key, "' has the wrong type");
  return v;
}

double number_or(const json::Value& cfg, const char* key, double fallback, const std::string& path) {
  const json::Value* v = member(cfg, key, json::Value::Kind::Number, path);
  return v ? v->number : fallback;
}

bool bool_or(const json::Value& cfg, const char* key, bool fallback, const std::string& path) {
  const json::Value* v = member(cfg, key, json::Value::Kind::Bool, path);
  return v ? v->boolean : fallback;
}

const TensorRecord& shaped(const Checkpoint& c, const std::string& name, size_t rank) {
  const TensorRecord* r = c.find(name);
  HATTN_CHECK_INPUT(r != nullptr, "'", c.path(), "': no tensor '", name, "': not a GPT-NeoX model in Hugging Face's "
                    "layout");
  HATTN_CHECK_INPUT(r->shape.size() == rank, "'", c.path(), "': tensor '", name, "' has shape ", shape_str(r->shape),
                    ", expected ", rank, " dims");
  return *r;
}

}  // namespace

bool looks_like_gpt_neox(const std::string& path) { return config_model_type(path) == "gpt_neox"; }

GptNeoxConfig infer_gpt_neox_config(const Checkpoint& ckpt, const LmFiles& files) {
  HATTN_CHECK_INPUT(!files.config.empty(), "'", files.folder, "': a GPT-NeoX model needs its config.json (the number "
                    "of heads and the rotary settings are not in the weights)");
  const std::unique_ptr<json::Value> cfg = read_config(files.config);
  const std::string& path = files.config;
  GptNeoxConfig c;
  const TensorRecord& emb = shaped(ckpt, "gpt_neox.embed_in.weight", 2);
  c.vocab = emb.shape[0];
  c.d_model = emb.shape[1];
  c.n_layer = count_indexed(ckpt, "gpt_neox.layers.");
  HATTN_CHECK_INPUT(c.n_layer > 0, "'", ckpt.path(), "': no 'gpt_neox.layers.*' tensors");
  c.d_ff = shaped(ckpt, "gpt_neox.layers.0.mlp.dense_h_to_4h.weight", 2).shape[0];
  const json::Value* heads = member(*cfg, "num_attention_heads", json::Value::Kind::Number, path);
  HATTN_CHECK_INPUT(heads && heads->is_integer() && heads->as_int() > 0 && c.d_model % heads->as_int() == 0, "'", path,
                    "': 'num_attention_heads' must be a positive integer dividing the width ", c.d_model);
  c.heads = heads->as_int();
  c.rotary_pct = number_or(*cfg, "rotary_pct", 0.25, path);
  c.rotary_base = number_or(*cfg, "rotary_emb_base", 10000, path);
  c.eps = number_or(*cfg, "layer_norm_eps", 1e-5, path);
  c.parallel_residual = bool_or(*cfg, "use_parallel_residual", true, path);
  c.attention_bias = bool_or(*cfg, "attention_bias", true, path);
  c.max_positions = static_cast<int64_t>(number_or(*cfg, "max_position_embeddings", 2048, path));
  const json::Value* act = member(*cfg, "hidden_act", json::Value::Kind::String, path);
  HATTN_CHECK_INPUT(!act || act->text == "gelu", "'", path, "': hidden_act '", act ? act->text : "", "' is not ",
                    "supported (the exact GELU, 'gelu', is)");
  HATTN_CHECK_INPUT(!cfg->find("rope_scaling") || cfg->find("rope_scaling")->kind == json::Value::Kind::Null, "'",
                    path, "': rope_scaling is not supported");
  HATTN_CHECK_INPUT(!bool_or(*cfg, "tie_word_embeddings", false, path), "'", path, "': a tied head is not GPT-NeoX's "
                    "layout (embed_out is its own tensor)");
  if (const TensorRecord* score = ckpt.find("score.weight")) {  // GPTNeoXForSequenceClassification
    HATTN_CHECK_INPUT(score->shape.size() == 2 && score->shape[1] == c.d_model && score->shape[0] > 0, "'",
                      ckpt.path(), "': score.weight has shape ", shape_str(score->shape), ", expected [labels, ",
                      c.d_model, "]");
    HATTN_CHECK_INPUT(!ckpt.find("embed_out.weight"), "'", ckpt.path(), "': both score.weight and embed_out.weight: ",
                      "which is the head?");
    c.labels = score->shape[0];
  }
  const json::Value* vocab = member(*cfg, "vocab_size", json::Value::Kind::Number, path);
  HATTN_CHECK_INPUT(!vocab || (vocab->is_integer() && vocab->as_int() == c.vocab), "'", path, "': vocab_size ",
                    vocab ? vocab->text : "", " disagrees with the embedding's ", c.vocab, " rows");
  return c;
}

std::unique_ptr<GptNeox> load_gpt_neox(const std::string& path) {
  const LmFiles files = find_lm_files(path);
  const Checkpoint ckpt = open_lm_checkpoint(files);
  auto model = std::make_unique<GptNeox>(infer_gpt_neox_config(ckpt, files));
  std::set<std::string> buffers;  // recomputed, not read
  for (const TensorRecord& r : ckpt.records())
    for (const char* tail : {".attention.bias", ".attention.masked_bias", ".attention.rotary_emb.inv_freq"})
      if (r.name.size() > std::string(tail).size() && r.name.compare(r.name.size() - std::string(tail).size(),
                                                                     std::string::npos, tail) == 0)
        buffers.insert(r.name);
  load_parameters(*model, ckpt, buffers);
  return model;
}

}  // namespace ha
