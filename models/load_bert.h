// From a Hugging Face BertForSequenceClassification folder (config.json with model_type bert, and
// model.safetensors, its shards, or pytorch_model.bin) to a ready BertClassifier. The sizes come from the shapes;
// the heads and the LayerNorm eps from config.json, which is required (the heads cannot be read off the shapes).
// Buffers older files carry (embeddings.position_ids, embeddings.token_type_ids) are ignored.
#pragma once
#include <memory>
#include <string>

#include "models/bert.h"
#include "models/load_lm.h"

namespace ha {

bool looks_like_bert(const std::string& path);  // config.json beside `path` says model_type bert
BertConfig infer_bert_config(const Checkpoint& ckpt, const LmFiles& files);
std::unique_ptr<BertClassifier> load_bert(const std::string& path);

}  // namespace ha
