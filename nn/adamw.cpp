#include "nn/adamw.h"

#include <cmath>

#include "ops/cuda/adamw_cuda.h"
#include "tensor/parallel.h"

namespace ha::nn {

AdamW::AdamW(Module& model, AdamWConfig config) : cfg_(config) {
  const auto named = model.named_parameters();
  const Device dev = named.empty() ? Device::cpu() : named.front().second.device();
  params_ = pack_parameters(model, dev);
  grads_ = Tensor::zeros(params_.shape(), DType::F32, dev);
  m_ = Tensor::zeros(params_.shape(), DType::F32, dev);
  v_ = Tensor::zeros(params_.shape(), DType::F32, dev);
  decay_.assign(params_.numel(), 0);
  for (auto& [name, p] : model.named_parameters()) {
    TensorImpl& impl = p.impl();
    // the gradient of each parameter is a view into the gradient arena; autograd accumulates into it
    impl.grad = raw::as_strided(grads_, p.shape(), p.strides(), p.offset()).impl_ptr();
    const bool no_decay = p.dim() <= 1 || name == "pos_embed" || name == "cls_token" || name == "dist_token";
    if (!no_decay) std::fill(decay_.begin() + p.offset(), decay_.begin() + p.offset() + p.numel(), 1);
  }
  if (dev.is_cuda()) {
    std::vector<float> mask(decay_.begin(), decay_.end());
    decay_mask_ = Tensor::from_vector(mask, {static_cast<int64_t>(mask.size())}).to(dev);
  }
}

void AdamW::zero_grad() { grads_.zero_(); }

void AdamW::step(double lr) {
  ++t_;
  const double bc1 = 1 - std::pow(cfg_.beta1, double(t_)), bc2 = 1 - std::pow(cfg_.beta2, double(t_));
  float* p = params_.data<float>();
  const float* g = grads_.data<float>();
  float* m = m_.data<float>();
  float* v = v_.data<float>();
  const float b1 = float(cfg_.beta1), b2 = float(cfg_.beta2), eps = float(cfg_.eps);
  const float step = float(lr / bc1), vscale = float(1 / std::sqrt(bc2)), decay = float(lr * cfg_.weight_decay);
  params_.bump_version();  // the parameters are views of params_: a graph that saved one is now stale
  if (params_.device().is_cuda()) {
    cuda::adamw_step(p, g, m, v, decay_mask_.data<float>(), params_.numel(), b1, b2, eps, step, vscale, decay,
                     params_.device().index);
    return;
  }
  parallel_for(params_.numel(), 1 << 14, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      if (decay_[i]) p[i] -= decay * p[i];
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      p[i] -= step * m[i] / (std::sqrt(v[i]) * vscale + eps);
    }
  });
}

void AdamW::restore(const Tensor& m, const Tensor& v, int64_t steps) {
  HATTN_CHECK(m.shape() == m_.shape() && v.shape() == v_.shape(), "AdamW::restore: optimizer state of ",
              shape_str(m.shape()), " does not match the model's ", shape_str(m_.shape()));
  m_.copy_(m);
  v_.copy_(v);
  t_ = steps;
}

double warmup_cosine(int64_t step, int64_t warmup, int64_t total, double peak, double floor) {
  if (step < warmup) return peak * double(step + 1) / double(warmup);
  const double progress = std::min(1.0, double(step - warmup) / double(std::max<int64_t>(1, total - warmup)));
  return floor + 0.5 * (peak - floor) * (1 + std::cos(M_PI * progress));
}

}  // namespace ha::nn
