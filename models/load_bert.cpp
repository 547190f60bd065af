#include "models/load_bert.h"

#include <cmath>
#include <set>

#include "models/io/json.h"
#include "models/io/read_file.h"
#include "models/load.h"

namespace ha {
namespace {

const TensorRecord& shaped(const Checkpoint& c, const std::string& name, size_t rank) {
  const TensorRecord* r = c.find(name);
  HATTN_CHECK_INPUT(r != nullptr, "'", c.path(), "': no tensor '", name, "': not a BERT sequence classifier in ",
                    "Hugging Face's layout (BertForSequenceClassification)");
  HATTN_CHECK_INPUT(r->shape.size() == rank, "'", c.path(), "': tensor '", name, "' has shape ", shape_str(r->shape),
                    ", expected ", rank, " dims");
  return *r;
}

}  // namespace

bool looks_like_bert(const std::string& path) { return config_model_type(path) == "bert"; }

BertConfig infer_bert_config(const Checkpoint& ckpt, const LmFiles& files) {
  HATTN_CHECK_INPUT(!files.config.empty(), "'", files.folder, "': a BERT model needs its config.json (the number of ",
                    "heads is not in the weights)");
  const std::string& path = files.config;
  const json::Value cfg = json::parse(read_whole_file(path, 1 << 20, "config file"), "'" + path + "'");
  HATTN_CHECK_INPUT(cfg.kind == json::Value::Kind::Object, "'", path, "': not a JSON object");
  auto number = [&](const char* key, double fallback) {
    const json::Value* v = cfg.find(key);
    if (!v || v->kind == json::Value::Kind::Null) return fallback;
    HATTN_CHECK_INPUT(v->kind == json::Value::Kind::Number, "'", path, "': '", key, "' is not a number");
    return v->number;
  };
  auto text = [&](const char* key, const std::string& fallback) {
    const json::Value* v = cfg.find(key);
    return v && v->kind == json::Value::Kind::String ? v->text : fallback;
  };
  BertConfig c;
  const TensorRecord& word = shaped(ckpt, "bert.embeddings.word_embeddings.weight", 2);
  c.vocab = word.shape[0];
  c.d_model = word.shape[1];
  c.max_positions = shaped(ckpt, "bert.embeddings.position_embeddings.weight", 2).shape[0];
  c.type_vocab = shaped(ckpt, "bert.embeddings.token_type_embeddings.weight", 2).shape[0];
  c.n_layer = count_indexed(ckpt, "bert.encoder.layer.");
  HATTN_CHECK_INPUT(c.n_layer > 0, "'", ckpt.path(), "': no 'bert.encoder.layer.*' tensors");
  c.d_ff = shaped(ckpt, "bert.encoder.layer.0.intermediate.dense.weight", 2).shape[0];
  c.labels = shaped(ckpt, "classifier.weight", 2).shape[0];
  const double heads = number("num_attention_heads", 0);
  HATTN_CHECK_INPUT(heads >= 1 && heads <= double(c.d_model) && heads == std::floor(heads) &&
                        c.d_model % int64_t(heads) == 0, "'", path,
                    "': 'num_attention_heads' must be a positive integer dividing the width ", c.d_model);
  c.heads = static_cast<int64_t>(heads);
  c.eps = number("layer_norm_eps", 1e-12);
  HATTN_CHECK_INPUT(c.eps > 0 && c.eps < 1, "'", path, "': layer_norm_eps must be in (0, 1)");
  HATTN_CHECK_INPUT(text("hidden_act", "gelu") == "gelu", "'", path, "': hidden_act '", text("hidden_act", ""),
                    "' is not supported (the exact GELU, 'gelu', is)");
  HATTN_CHECK_INPUT(text("position_embedding_type", "absolute") == "absolute", "'", path,
                    "': position_embedding_type '", text("position_embedding_type", ""), "' is not supported (absolute is)");
  const double vocab = number("vocab_size", double(c.vocab));
  HATTN_CHECK_INPUT(vocab == double(c.vocab), "'", path, "': vocab_size ", vocab, " disagrees with the embedding's ",
                    c.vocab, " rows");
  return c;
}

std::unique_ptr<BertClassifier> load_bert(const std::string& path) {
  const LmFiles files = find_lm_files(path);
  const Checkpoint ckpt = open_lm_checkpoint(files);
  auto model = std::make_unique<BertClassifier>(infer_bert_config(ckpt, files));
  std::set<std::string> buffers;  // recomputed, not read
  for (const char* name : {"bert.embeddings.position_ids", "bert.embeddings.token_type_ids"})
    if (ckpt.find(name)) buffers.insert(name);
  load_parameters(*model, ckpt, buffers);
  return model;
}

}  // namespace ha
