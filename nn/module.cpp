#include "nn/module.h"

namespace ha::nn {

Tensor Module::register_parameter(const std::string& name, const Shape& shape) {
  Tensor t = Tensor::zeros(shape, DType::F32);
  params_.emplace_back(name, t);
  return t;
}

void Module::register_module(const std::string& name, Module& child) { children_.emplace_back(name, &child); }

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(const std::string& prefix) const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [name, t] : params_) out.emplace_back(prefix + name, t);
  for (const auto& [name, child] : children_) {
    auto sub = child->named_parameters(prefix + name + ".");
    out.insert(out.end(), sub.begin(), sub.end());
  }
  return out;
}

int64_t Module::parameter_count() const {
  int64_t n = 0;
  for (const auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

// Copies every parameter into one arena on `device` and re-points the parameter tensors into it.
static Tensor into_arena(Module& root, Device device, bool mark_requires_grad) {
  auto params = root.named_parameters();
  constexpr int64_t kAlign = 16;  // floats: 64 bytes
  int64_t total = 0;
  for (const auto& [name, t] : params) total += (t.numel() + kAlign - 1) / kAlign * kAlign;
  Tensor arena = Tensor::zeros({total}, DType::F32, device);
  int64_t at = 0;
  for (auto& [name, t] : params) {
    Tensor slot = raw::as_strided(arena, t.shape(), contiguous_strides(t.shape()), at);
    slot.copy_(raw::contiguous(t));
    TensorImpl& impl = t.impl();
    impl.storage = arena.impl().storage;
    impl.offset = at;
    impl.strides = contiguous_strides(t.shape());
    if (mark_requires_grad) impl.requires_grad = true;
    at += (t.numel() + kAlign - 1) / kAlign * kAlign;
  }
  return arena;
}

Tensor pack_parameters(Module& root, Device device) { return into_arena(root, device, true); }

Tensor move_parameters(Module& root, Device device) { return into_arena(root, device, false); }

void freeze(const Module& root) {
  for (auto& [name, p] : root.named_parameters())
    if (p.requires_grad()) p.requires_grad_(false);
}

FrozenParameters::FrozenParameters(const Module& root) {
  for (auto& [name, p] : root.named_parameters())
    if (p.requires_grad()) frozen_.push_back(p);
  for (Tensor& p : frozen_) p.requires_grad_(false);
}

FrozenParameters::~FrozenParameters() {
  for (Tensor& p : frozen_) p.requires_grad_(true);
}

}  // namespace ha::nn
