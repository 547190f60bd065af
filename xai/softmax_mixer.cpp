#include "xai/softmax_mixer.h"

#include <algorithm>

#include "ops/ops.h"

namespace ha::xai {

SoftmaxMixer::SoftmaxMixer(Tensor attn, Tensor grad, Tensor relevance, std::string what)
    : attn_(std::move(attn)), grad_(std::move(grad)), relevance_(std::move(relevance)), what_(std::move(what)) {}

Tensor SoftmaxMixer::matrices(int64_t c0, int64_t c1, const std::string& part) const {
  HATTN_CHECK_INPUT(part.empty(), what_, "'s attention has no directions (asked for '", part, "')");
  return attn_.narrow(0, c0, c1 - c0);
}

Tensor SoftmaxMixer::rows(int64_t q, RowKind kind) const {
  HATTN_CHECK_INPUT(kind == RowKind::Exact, what_, "'s attention rows have one kind (softmax probabilities)");
  return attn_.select(1, q).contiguous();
}

MixerStats SoftmaxMixer::compute_stats() const {
  MixerStats s;
  s.mean = mean(attn_, {0});
  s.mean_relu = mean(relu(attn_), {0});
  const std::vector<float> v = attn_.to_vector<float>();
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  return s;
}

}  // namespace ha::xai
