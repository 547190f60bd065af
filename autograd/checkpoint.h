// Activation checkpointing: y = f(x) without keeping f's graph. The forward runs f with gradients off; the
// backward runs f again on x with gradients on and back-propagates through that recomputation, so memory holds
// only x and y between the passes, at the price of a second forward of f. f must compute the same y both times
// (deterministic, no state changed between the passes). Parameters inside f get their gradients from the inner
// pass, which runs only when x itself requires grad.
#pragma once
#include <functional>

#include "tensor/tensor.h"

namespace ha {

Tensor checkpoint(const std::function<Tensor(const Tensor&)>& f, const Tensor& x);

}  // namespace ha
