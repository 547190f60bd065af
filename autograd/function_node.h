// A node whose backward is a closure: the closure's captures are exactly what backward reads (captured
// tensors must go through saved()), and release() destroys the closure, freeing them.
#pragma once
#include <functional>
#include <utility>

#include "autograd/record.h"

namespace ha {

class FunctionNode : public Node {
 public:
  using Backward = std::function<std::vector<Tensor>(const Tensor& grad)>;
  FunctionNode(const char* name, Backward fn) : name_(name), fn_(std::move(fn)) {}
  const char* name() const override { return name_; }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override { return fn_(grads[0]); }
  void release() override { fn_ = nullptr; }

 private:
  const char* name_;
  Backward fn_;
};

// Records a single-output op: backward(g) returns one gradient per input (undefined where none is needed).
// Call only after needs_grad(inputs) returned true.
inline void record_op(const char* name, const std::vector<Tensor>& inputs, const Tensor& out,
                      FunctionNode::Backward backward) {
  record(std::make_shared<FunctionNode>(name, std::move(backward)), inputs, {out});
}

}  // namespace ha
