// GPT-NeoX for generation: the prompt in one parallel pass, then one token at a time against the keys and values
// every layer keeps (models/gpt_neox.h's KvCache), so a step attends to the past without recomputing it. Equal to
// GptNeox::forward position by position (tested); float32, without a graph, on the model's device.
#pragma once
#include <vector>

#include "models/gpt_neox.h"
#include "models/lm_generate.h"

namespace ha {

class GptNeoxStepper final : public TokenStepper {
 public:
  explicit GptNeoxStepper(const GptNeox& model) : model_(model) {}
  std::vector<float> prefill(const std::vector<int64_t>& prompt) override;
  std::vector<float> step(int64_t token) override;

 private:
  std::vector<float> feed(const std::vector<int64_t>& ids);  // the next-token logits after the last of `ids`
  const GptNeox& model_;
  std::vector<KvCache> cache_;
};

}  // namespace ha
