#include "models/save_lm.h"

#include "models/io/checkpoint.h"
#include "models/io/json.h"
#include "tensor/atomic_write.h"

namespace ha {

namespace {

// id2label and label2id of K classes named by `labels` (missing names: the index).
std::pair<std::string, std::string> label_maps(int64_t K, const std::vector<std::string>& labels) {
  std::string id2label = "{", label2id = "{";
  for (int64_t k = 0; k < K; ++k) {
    const std::string name = k < static_cast<int64_t>(labels.size()) ? labels[k] : std::to_string(k);
    id2label += str(k ? ", " : "", json::quote(std::to_string(k)), ": ", json::quote(name));
    label2id += str(k ? ", " : "", json::quote(name), ": ", k);
  }
  return {id2label + "}", label2id + "}"};
}

// The entries a folder carries for hattn (training details, the task accuracy) as one JSON object.
std::string extra_json(const std::map<std::string, std::string>& extra) {
  std::string out = "{";
  for (const auto& [k, v] : extra) out += (out.size() > 1 ? ", " : "") + json::quote(k) + ": " + json::quote(v);
  return out + "}";
}

}  // namespace

std::string lm_config_json(const LmConfig& c, const std::map<std::string, std::string>& extra,
                           const std::vector<std::string>& labels) {
  const bool m1 = c.family == LmFamily::Mamba1;
  std::string s = "{\n";
  auto add = [&](const std::string& k, const std::string& v) { s += "  " + json::quote(k) + ": " + v + ",\n"; };
  if (c.labels > 0)  // transformers 4.44 has no such class; the name says what the folder is
    add("architectures", m1 ? "[\"MambaForSequenceClassification\"]" : "[\"Mamba2ForSequenceClassification\"]");
  else
    add("architectures", m1 ? "[\"MambaForCausalLM\"]" : "[\"Mamba2ForCausalLM\"]");
  add("model_type", m1 ? "\"mamba\"" : "\"mamba2\"");
  add("vocab_size", std::to_string(c.vocab));
  add("hidden_size", std::to_string(c.d_model));
  add("num_hidden_layers", std::to_string(c.n_layer));
  add("state_size", std::to_string(c.d_state));
  add("expand", std::to_string(c.d_inner / c.d_model));
  add("conv_kernel", std::to_string(c.d_conv));
  if (m1) {
    add("intermediate_size", std::to_string(c.d_inner));
    add("time_step_rank", std::to_string(c.dt_rank));
  } else {
    add("num_heads", std::to_string(c.nheads));
    add("head_dim", std::to_string(c.d_inner / c.nheads));
    add("n_groups", std::to_string(c.ngroups));
  }
  add("use_bias", "false");
  add("use_conv_bias", "true");
  add("layer_norm_epsilon", str(c.eps));
  add("tie_word_embeddings", c.tied ? "true" : "false");
  if (c.labels > 0) {
    const auto [id2label, label2id] = label_maps(c.labels, labels);
    add("num_labels", std::to_string(c.labels));
    add("id2label", id2label);
    add("label2id", label2id);
  }
  return s + "  \"hattn\": " + extra_json(extra) + "\n}\n";
}

void save_lm_folder(const MambaLM& model, const std::string& folder, const std::map<std::string, std::string>& extra,
                    const std::vector<std::string>& labels) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (auto& [name, t] : model.named_parameters())
    tensors.emplace_back(name == "backbone.embedding.weight" ? "backbone.embeddings.weight" : name, t);
  save_safetensors(folder + "/model.safetensors", tensors, {{"format", "pt"}});
  const std::string cfg = lm_config_json(model.config(), extra, labels);
  write_file_atomically(folder + "/config.json", [&](std::ostream& os) { os << cfg; });
}

std::string gpt_neox_config_json(const GptNeoxConfig& c, const std::map<std::string, std::string>& extra) {
  std::string s = "{\n";
  auto add = [&](const std::string& k, const std::string& v) { s += "  " + json::quote(k) + ": " + v + ",\n"; };
  add("architectures", "[\"GPTNeoXForCausalLM\"]");
  add("model_type", "\"gpt_neox\"");
  add("vocab_size", std::to_string(c.vocab));
  add("hidden_size", std::to_string(c.d_model));
  add("num_hidden_layers", std::to_string(c.n_layer));
  add("num_attention_heads", std::to_string(c.heads));
  add("intermediate_size", std::to_string(c.d_ff));
  add("rotary_pct", str(c.rotary_pct));
  add("rotary_emb_base", str(c.rotary_base));
  add("layer_norm_eps", str(c.eps));
  add("use_parallel_residual", c.parallel_residual ? "true" : "false");
  add("attention_bias", c.attention_bias ? "true" : "false");
  add("max_position_embeddings", std::to_string(c.max_positions));
  add("hidden_act", "\"gelu\"");
  add("tie_word_embeddings", "false");
  return s + "  \"hattn\": " + extra_json(extra) + "\n}\n";
}

void save_gpt_neox_folder(const GptNeox& model, const std::string& folder,
                          const std::map<std::string, std::string>& extra) {
  save_safetensors(folder + "/model.safetensors", model.named_parameters(), {{"format", "pt"}});
  const std::string cfg = gpt_neox_config_json(model.config(), extra);
  write_file_atomically(folder + "/config.json", [&](std::ostream& os) { os << cfg; });
}

std::string bert_config_json(const BertConfig& c, const std::vector<std::string>& labels,
                             const std::map<std::string, std::string>& extra) {
  std::string s = "{\n";
  auto add = [&](const std::string& k, const std::string& v) { s += "  " + json::quote(k) + ": " + v + ",\n"; };
  add("architectures", "[\"BertForSequenceClassification\"]");
  add("model_type", "\"bert\"");
  add("vocab_size", std::to_string(c.vocab));
  add("hidden_size", std::to_string(c.d_model));
  add("num_hidden_layers", std::to_string(c.n_layer));
  add("num_attention_heads", std::to_string(c.heads));
  add("intermediate_size", std::to_string(c.d_ff));
  add("max_position_embeddings", std::to_string(c.max_positions));
  add("type_vocab_size", std::to_string(c.type_vocab));
  add("layer_norm_eps", str(c.eps));
  add("hidden_act", "\"gelu\"");
  add("position_embedding_type", "\"absolute\"");
  const auto [id2label, label2id] = label_maps(c.labels, labels);
  add("id2label", id2label);
  add("label2id", label2id);
  return s + "  \"hattn\": " + extra_json(extra) + "\n}\n";
}

void save_bert_folder(const BertClassifier& model, const std::string& folder,
                      const std::map<std::string, std::string>& extra, const std::vector<std::string>& labels) {
  save_safetensors(folder + "/model.safetensors", model.named_parameters(), {{"format", "pt"}});
  const std::string cfg = bert_config_json(model.config(), labels, extra);
  write_file_atomically(folder + "/config.json", [&](std::ostream& os) { os << cfg; });
}

}  // namespace ha
