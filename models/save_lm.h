// Writing a language model (MambaLM, GptNeox) as a model folder in the Hugging Face layout: config.json (model_type mamba or mamba2, the
// names transformers reads) and model.safetensors (Hugging Face's key for the embedding; no lm_head when tied),
// so the folder loads here and in transformers alike. Extra entries (training details, the task accuracy) go
// into config.json under "hattn".
#pragma once
#include <map>
#include <string>

#include "models/gpt_neox.h"
#include "models/mamba_lm.h"

namespace ha {

std::string lm_config_json(const LmConfig& c, const std::map<std::string, std::string>& extra = {});
void save_lm_folder(const MambaLM& model, const std::string& folder, const std::map<std::string, std::string>& extra = {});
// The same for GPT-NeoX (model_type gpt_neox, the names transformers' GPTNeoXConfig reads).
std::string gpt_neox_config_json(const GptNeoxConfig& c, const std::map<std::string, std::string>& extra = {});
void save_gpt_neox_folder(const GptNeox& model, const std::string& folder,
                          const std::map<std::string, std::string>& extra = {});

}  // namespace ha
