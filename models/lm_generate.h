// The recurrent form of a MambaLM, for generation: each layer keeps its causal conv's last K-1 inputs and its
// SSM state (Mamba-1: E×N; Mamba-2: H heads of P×N), so a new token costs the same whatever came before it.
// Equal to MambaLM::forward position by position (tested); float32, without a graph, on the model's device.
// Two forms of one step: on the CPU a host loop (each weight streamed once, no temporaries); elsewhere the
// same arithmetic as tensor ops, which run on any device (a CPU test checks them against the host loop).
#pragma once
#include <functional>
#include <vector>

#include "models/mamba_lm.h"

namespace ha {

// What decoding needs of a language model: read a prompt, then one token at a time, each call returning the logits
// (V) that predict the next token. MambaLM's LmStepper below; GPT-NeoX's (models/gpt_neox_generate.h) keeps keys
// and values.
class TokenStepper {
 public:
  virtual ~TokenStepper() = default;
  virtual std::vector<float> prefill(const std::vector<int64_t>& prompt) = 0;  // on a fresh stepper
  virtual std::vector<float> step(int64_t token) = 0;
};

class LmStepper final : public TokenStepper {
 public:
  // `tensor_ops`: take the tensor-op form on the CPU too (other devices always do).
  explicit LmStepper(const MambaLM& model, bool tensor_ops = false);
  // Feeds one token; returns the logits (V) that predict the next one.
  std::vector<float> step(int64_t token) override;
  // Feeds a whole prompt at once (on a fresh stepper): the parallel forward with traces, from which each layer's
  // conv window (the last K-1 conv inputs, recomputed from the residual stream) and final SSM state are taken.
  // Same result as stepping through the prompt, at GEMM speed.
  std::vector<float> prefill(const std::vector<int64_t>& prompt) override;
  int64_t position() const { return position_; }

 private:
  // the mixer on the normalised residual, as a host loop and as tensor ops (h (1, D) -> (1, D))
  std::vector<float> layer_step(int64_t l, const std::vector<float>& h);
  Tensor layer_step_ops(int64_t l, const Tensor& h);
  Tensor conv_step_ops(int64_t l, const Tensor& x, const Tensor& weight, const Tensor& bias);
  const MambaLM& model_;
  bool ops_;
  std::vector<Tensor> conv_;  // per layer: (channels, K-1), oldest first, on the model's device
  std::vector<Tensor> ssm_;   // per layer: (E, N)
  std::vector<Tensor> A_;     // tensor-op form: per layer -exp(A_log)
  Tensor unit_;               // tensor-op form, Mamba-2: the group norm's unit weight
  int64_t position_ = 0;
};

// How the next token is chosen from the logits z (V):
//   temperature 0: the argmax (greedy; ties to the lower id), whatever the other fields say;
//   else p ∝ exp(z / temperature) over the top_k highest logits (0: all), then the smallest set of the most likely
//   tokens whose probability reaches top_p (at least one), renormalised; one uniform draw from `seed`'s stream
//   picks the token by the cumulative sum in order of decreasing probability (ties: the lower id first).
// Equal seeds give equal token streams.
struct Sampling {
  double temperature = 0;
  int64_t top_k = 0;
  double top_p = 1;
  uint64_t seed = 0;
};
class Generator;
int64_t sample_token(const std::vector<float>& logits, const Sampling& s, Generator& gen);

// Decoding: feeds the prompt (prefill), then appends a token chosen by `sampling` `max_new` times (stopping early
// at `stop_token` when >= 0). `on_token` (optional) sees each new token as it is chosen.
std::vector<int64_t> generate(TokenStepper& stepper, const std::vector<int64_t>& prompt, int64_t max_new,
                              int64_t stop_token = -1, const Sampling& sampling = {},
                              const std::function<void(int64_t)>& on_token = nullptr);
std::vector<int64_t> generate(const MambaLM& model, const std::vector<int64_t>& prompt, int64_t max_new,
                              int64_t stop_token = -1, const Sampling& sampling = {},
                              const std::function<void(int64_t)>& on_token = nullptr);
// generate with the argmax at every step.
std::vector<int64_t> generate_greedy(const MambaLM& model, const std::vector<int64_t>& prompt, int64_t max_new,
                                     int64_t stop_token = -1,
                                     const std::function<void(int64_t)>& on_token = nullptr);

}  // namespace ha
