// One Vim block: the fused add + RMSNorm of the official code (residual kept in fp32), then the mixer.
//   r = residual + hidden (or hidden for the first block);  h = mixer(RMSNorm(r));  returns (h, r)
#pragma once
#include <utility>

#include "nn/mamba_mixer.h"

namespace ha::nn {

class VimBlock : public Module {
 public:
  VimBlock(const MambaConfig& c, double eps) : mixer(c), norm(c.d_model, eps) {
    register_module("mixer", mixer);
    register_module("norm", norm);
  }
  std::pair<Tensor, Tensor> operator()(const Tensor& hidden, const Tensor& residual, MixerTrace* trace) const {
    Tensor r = residual.defined() ? add(residual, hidden) : hidden;
    return {mixer(norm(r), trace), r};
  }
  MambaMixer mixer;
  RMSNorm norm;
};

}  // namespace ha::nn
