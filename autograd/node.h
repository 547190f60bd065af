// Reverse-mode autograd, in one paragraph:
// Every differentiable op that sees an input requiring grad records a Node whose `next_edges` point at the
// nodes that produced its inputs (a leaf's edge points at its AccumulateGrad node). A Node saves only what
// its backward reads, as detached tensors (no cycles through grad_fn). `Tensor::backward` walks the graph
// with an explicit stack (never recursion: a 24-layer bidirectional Vim is deep), counts each node's
// consumers, then runs nodes in topological order; gradients arriving at the same slot accumulate with +=.
// Before a node runs, its saved tensors' storage versions are compared with those at saving: an in-place write
// in between is an error naming the op, not a wrong gradient. After a backward the nodes drop their saved tensors
// unless retain_graph is set.
#pragma once
#include <memory>
#include <vector>

#include "tensor/tensor.h"

namespace ha {

class Node;

struct Edge {
  std::shared_ptr<Node> fn;  // null: the input needs no gradient
  int slot = 0;              // which output of fn this gradient belongs to
};

class Node {
 public:
  virtual ~Node();  // frees long chains iteratively (a recursive ~shared_ptr would overflow the stack)
  virtual const char* name() const = 0;
  // grads[i] is d(root)/d(output i) (undefined when nothing flowed there); returns one gradient per
  // next_edges entry (undefined when that input needs none).
  virtual std::vector<Tensor> apply(std::vector<Tensor>& grads) = 0;
  // Drops saved tensors; called after backward unless retain_graph.
  virtual void release() {}

  std::vector<Edge> next_edges;
  int num_outputs = 1;
  std::vector<std::vector<GradHook>> output_hooks;        // per output
  std::vector<std::weak_ptr<TensorImpl>> retained_grads;  // per output: tensors that called retain_grad()
  std::vector<std::pair<Tensor, uint64_t>> saved_versions;  // what backward reads, and its version when saved
  bool released = false;
};

// The sink for a leaf: adds the incoming gradient into leaf.grad.
class AccumulateGrad : public Node {
 public:
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf) : leaf_(std::move(leaf)) {}
  const char* name() const override { return "AccumulateGrad"; }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override;

 private:
  std::shared_ptr<TensorImpl> leaf_;
};

}  // namespace ha
