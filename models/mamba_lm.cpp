#include "models/mamba_lm.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "autograd/checkpoint.h"
#include "autograd/grad_mode.h"

namespace ha {

const char* lm_family_name(LmFamily f) { return f == LmFamily::Mamba1 ? "mamba1" : "mamba2"; }

std::string LmConfig::describe() const {
  std::string s = str(family == LmFamily::Mamba1 ? "Mamba-1" : "Mamba-2", " LM D=", d_model, " layers=", n_layer,
                      " vocab=", vocab, " E=", d_inner, " N=", d_state, " conv=", d_conv);
  if (family == LmFamily::Mamba1) s += str(" dt_rank=", dt_rank);
  else s += str(" heads=", nheads, " headdim=", d_inner / std::max<int64_t>(nheads, 1), " groups=", ngroups);
  if (labels > 0) return s + str(" classifier labels=", labels, head_bias ? " (lm_head with bias)" : " (score)");
  return s + (tied ? " tied head" : " untied head");
}

nn::MambaConfig LmConfig::mamba1() const {
  nn::MambaConfig m;
  m.d_model = d_model;
  m.d_state = d_state;
  m.d_conv = d_conv;
  m.expand = d_inner / d_model;
  m.dt_rank = dt_rank;
  m.bidirectional = false;
  return m;
}

nn::Mamba2Config LmConfig::mamba2() const {
  return {d_model, d_inner, d_state, d_conv, nheads, ngroups, eps};
}

LmBlock::LmBlock(const LmConfig& c) : norm(c.d_model, c.eps) {
  if (c.family == LmFamily::Mamba1) {
    mixer1 = std::make_unique<nn::MambaMixer>(c.mamba1());
    register_module("mixer", *mixer1);
  } else {
    mixer2 = std::make_unique<nn::Mamba2Mixer>(c.mamba2());
    register_module("mixer", *mixer2);
  }
  register_module("norm", norm);
}

Tensor LmBlock::mix(const Tensor& h, LmLayerTrace* trace) const {
  if (mixer1) return (*mixer1)(h, trace ? &trace->mamba1 : nullptr);
  return (*mixer2)(h, trace ? &trace->mamba2 : nullptr);
}

MambaLM::MambaLM(const LmConfig& c) : norm_f(c.d_model, c.eps), cfg_(c) {
  HATTN_CHECK(c.d_model > 0 && c.n_layer > 0 && c.vocab > 0 && c.d_inner % c.d_model == 0,
              "MambaLM: invalid configuration: ", c.describe());
  embedding = backbone_.param("embedding.weight", {c.vocab, c.d_model});
  for (int64_t i = 0; i < c.n_layer; ++i) {
    layers.push_back(std::make_unique<LmBlock>(c));
    layers_holder_.add(std::to_string(i), *layers.back());
  }
  backbone_.add("layers", layers_holder_);
  backbone_.add("norm_f", norm_f);
  register_module("backbone", backbone_);
  HATTN_CHECK(c.labels == 0 || !c.tied, "MambaLM: a classifier's head is its own tensor");
  if (!c.tied) lm_head = register_parameter(c.labels > 0 && !c.head_bias ? "score.weight" : "lm_head.weight",
                                            {c.head_rows(), c.d_model});
  if (c.labels > 0 && c.head_bias) lm_head_bias = register_parameter("lm_head.bias", {c.labels});
}

LmOutput MambaLM::forward(const Tensor& ids_in, const LmForwardOptions& options) const {
  HATTN_CHECK(ids_in.dtype() == DType::I64 && (ids_in.dim() == 1 || ids_in.dim() == 2) && ids_in.numel() > 0,
              "MambaLM: expected int64 token ids of shape (T) or (B, T), got ", describe(ids_in));
  Tensor ids = ids_in.dim() == 1 ? ids_in.reshape({1, ids_in.size(0)}) : ids_in;
  const int64_t B = ids.size(0), T = ids.size(1);
  LmOutput out;
  // the index stays on the host (index_select's contract); the rows come from wherever the embedding lives
  Tensor e = index_select(embedding, 0, ids.to(Device::cpu()).reshape({B * T})).reshape({B, T, cfg_.d_model});
  if (options.embeddings_require_grad) {
    e = e.detach();
    e.requires_grad_(true);
  }
  out.embeddings = e;
  if (options.trace) out.traces.resize(cfg_.n_layer);
  Tensor r = e;
  for (int64_t l = 0; l < cfg_.n_layer; ++l) {
    const LmBlock& block = *layers[l];
    LmLayerTrace* trace = options.trace ? &out.traces[l] : nullptr;
    Tensor m = options.recompute_mixers
                   ? checkpoint([&block, trace](const Tensor& h) mutable { return block.mix(h, std::exchange(trace, nullptr)); },
                                block.norm(r))  // the trace from the first run only
                   : block.mix(block.norm(r), trace);
    if (options.retain_block_grads && m.requires_grad()) m.retain_grad();
    out.mixer_outputs.push_back(m);
    r = add(r, m);
  }
  out.hidden = norm_f(r);
  std::unique_ptr<NoGradGuard> no_grad = options.detach_logits ? std::make_unique<NoGradGuard>() : nullptr;
  out.logits = matmul(out.hidden, head_weight().transpose(0, 1));  // (B, T, V)
  if (lm_head_bias.defined()) out.logits = add(out.logits, lm_head_bias);
  return out;
}

Tensor MambaLM::head_logit(const Tensor& h, int64_t index) const {
  const Tensor z = sum(mul(h, head_weight().select(0, index)));
  return lm_head_bias.defined() ? add(z, lm_head_bias.select(0, index)) : z;
}

}  // namespace ha
