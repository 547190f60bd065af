// Writing a text model (MambaLM, GptNeox, BertClassifier) as a model folder in the Hugging Face layout: config.json
// (model_type mamba, mamba2, gpt_neox or bert, the names transformers reads) and model.safetensors (Hugging Face's key for the embedding; no lm_head when tied),
// so the folder loads here and in transformers alike. Extra entries (training details, the task accuracy) go
// into config.json under "hattn".
#pragma once
#include <map>
#include <string>
#include <vector>

#include "models/bert.h"
#include "models/gpt_neox.h"
#include "models/mamba_lm.h"

namespace ha {

// A classifier (LmConfig::labels > 0) also gets id2label from `labels` (empty: "0" .. "K−1").
std::string lm_config_json(const LmConfig& c, const std::map<std::string, std::string>& extra = {},
                           const std::vector<std::string>& labels = {});
void save_lm_folder(const MambaLM& model, const std::string& folder, const std::map<std::string, std::string>& extra = {},
                    const std::vector<std::string>& labels = {});
// The same for GPT-NeoX (model_type gpt_neox, the names transformers' GPTNeoXConfig reads).
std::string gpt_neox_config_json(const GptNeoxConfig& c, const std::map<std::string, std::string>& extra = {});
void save_gpt_neox_folder(const GptNeox& model, const std::string& folder,
                          const std::map<std::string, std::string>& extra = {});

// BERT (model_type bert, BertForSequenceClassification); `labels` become id2label (empty: "0" .. "K−1").
std::string bert_config_json(const BertConfig& c, const std::vector<std::string>& labels = {},
                             const std::map<std::string, std::string>& extra = {});
void save_bert_folder(const BertClassifier& model, const std::string& folder,
                      const std::map<std::string, std::string>& extra = {}, const std::vector<std::string>& labels = {});

}  // namespace ha
