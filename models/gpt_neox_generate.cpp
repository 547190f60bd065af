#include "models/gpt_neox_generate.h"

#include "autograd/grad_mode.h"
#include "ops/ops.h"

namespace ha {

std::vector<float> GptNeoxStepper::feed(const std::vector<int64_t>& ids) {
  NoGradGuard no_grad;
  const int64_t T = static_cast<int64_t>(ids.size());
  GptNeoxForwardOptions o;
  o.logits = false;
  const GptNeoxOutput out = model_.forward(Tensor::from_vector(ids, {1, T}), o, &cache_);
  // only the last position's logits: its final state times the head
  const Tensor last = out.hidden.select(0, 0).narrow(0, T - 1, 1);
  return matmul(last, model_.embed_out.transpose(0, 1)).to(Device::cpu()).contiguous().to_vector<float>();
}

std::vector<float> GptNeoxStepper::prefill(const std::vector<int64_t>& prompt) {
  HATTN_CHECK(cache_.empty(), "GptNeoxStepper: prefill on a stepper that has already read tokens");
  HATTN_CHECK_INPUT(!prompt.empty(), "generation needs at least one prompt token");
  return feed(prompt);
}

std::vector<float> GptNeoxStepper::step(int64_t token) { return feed({token}); }

}  // namespace ha
