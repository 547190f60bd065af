// The basic layers, each a thin Module over one op. Parameter names and shapes follow PyTorch's.
#pragma once
#include "nn/module.h"
#include "ops/ops.h"

namespace ha::nn {

class Linear : public Module {
 public:
  Linear(int64_t in, int64_t out, bool bias) {
    weight = register_parameter("weight", {out, in});
    if (bias) this->bias = register_parameter("bias", {out});
  }
  Tensor operator()(const Tensor& x) const { return linear(x, weight, bias); }
  Tensor weight, bias;
};

// nn.Conv2d(in, out, kernel, stride), no padding (Vim's patch embedding).
class Conv2d : public Module {
 public:
  Conv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride) : stride(stride) {
    weight = register_parameter("weight", {out, in, kernel, kernel});
    bias = register_parameter("bias", {out});
  }
  Tensor operator()(const Tensor& x) const { return conv2d(x, weight, bias, {stride, stride}); }
  Tensor weight, bias;
  int64_t stride;
};

// Mamba's depthwise nn.Conv1d(E, E, K, groups=E, padding=K-1) truncated to L: causal. Weight (E, 1, K).
class CausalConv1d : public Module {
 public:
  CausalConv1d(int64_t channels, int64_t kernel) {
    weight = register_parameter("weight", {channels, 1, kernel});
    bias = register_parameter("bias", {channels});
  }
  Tensor operator()(const Tensor& x) const {  // x (B, E, L)
    return causal_conv1d(x, weight.reshape({weight.size(0), weight.size(2)}), bias);
  }
  Tensor weight, bias;
};

class RMSNorm : public Module {
 public:
  RMSNorm(int64_t dim, double eps) : eps(eps) { weight = register_parameter("weight", {dim}); }
  Tensor operator()(const Tensor& x) const { return rms_norm(x, weight, eps); }
  Tensor weight;
  double eps;
};

class LayerNorm : public Module {
 public:
  LayerNorm(int64_t dim, double eps) : eps(eps) {
    weight = register_parameter("weight", {dim});
    bias = register_parameter("bias", {dim});
  }
  Tensor operator()(const Tensor& x) const { return layer_norm(x, weight, bias, eps); }
  Tensor weight, bias;
  double eps;
};

}  // namespace ha::nn
