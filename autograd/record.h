// What an op calls to join the graph. Most ops use record_op (autograd/function_node.h):
//   if (needs_grad({a, b})) record_op(OpName::Mul, {a, b}, out, [=](const Tensor& g) { return std::vector<Tensor>{...}; });
// which wraps the closure in a FunctionNode and calls record() below.
#pragma once
#include <initializer_list>
#include <memory>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/node.h"

namespace ha {

// True when grad mode is on and any (defined) input requires grad.
bool needs_grad(std::initializer_list<Tensor> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// The edge along which a gradient for `t` flows: its grad_fn, its leaf accumulator, or none.
Edge gradient_edge(const Tensor& t);

// Points node at the inputs' producers and makes it the grad_fn of each output.
void record(const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs);

// For ops with no derivative: throws at graph-build time, naming the op, when an input requires grad.
void check_not_differentiable(const char* op, std::initializer_list<Tensor> inputs);

// A saved tensor: same storage, no history (a node must not keep its own output's grad_fn alive). The next node
// that this thread records remembers the storage's version; its backward refuses to run when an in-place write
// changed the tensor since (PyTorch's contract). Call it right before record_op, as every op does.
Tensor saved(const Tensor& t);

}  // namespace ha
