// Module: a tree of named parameters whose dotted names are exactly PyTorch's state-dict keys
// (`layers.7.mixer.x_proj_b.weight`). Parameters are declared with their shapes at construction and then
// packed into one arena (pack_parameters), so loading, zeroing and optimiser steps are single loops.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace ha::nn {

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Every parameter below this module, with its full dotted name, in registration order.
  std::vector<std::pair<std::string, Tensor>> named_parameters(const std::string& prefix = "") const;
  int64_t parameter_count() const;

 protected:
  Tensor register_parameter(const std::string& name, const Shape& shape);
  void register_module(const std::string& name, Module& child);

 private:
  std::vector<std::pair<std::string, Tensor>> params_;
  std::vector<std::pair<std::string, Module*>> children_;
};

// For good: no parameter of `root` requires grad. Inference models are loaded so (xai/registry.h), which makes
// FrozenParameters a no-op for them: explaining never writes the shared weights' flags, so threads may share
// a model.
void freeze(const Module& root);

// While alive, the parameters of `root` that required grad do not (restored on destruction): a pass that needs
// input-side gradients only (explanations) then skips every weight gradient and leaves .grad untouched.
class FrozenParameters {
 public:
  explicit FrozenParameters(const Module& root);
  ~FrozenParameters();
  FrozenParameters(const FrozenParameters&) = delete;
  FrozenParameters& operator=(const FrozenParameters&) = delete;

 private:
  std::vector<Tensor> frozen_;
};

// One float32 storage on `device` holding every parameter of `root` back to back (64-byte aligned slots);
// each parameter tensor is re-pointed into it, keeping its values, and marked requires_grad. Returns the
// arena as a flat 1-d tensor.
Tensor pack_parameters(Module& root, Device device = Device::cpu());

// Moves every parameter of `root` to `device`, into one arena there (values and requires_grad kept; each
// parameter tensor is re-pointed, so modules and their users see the move). Returns the arena.
Tensor move_parameters(Module& root, Device device);

}  // namespace ha::nn
