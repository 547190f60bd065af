// A node whose backward is a closure: the closure's captures are exactly what backward reads (captured
// tensors must go through saved()), and release() destroys the closure, freeing them.
#pragma once
#include <functional>
#include <utility>

#include "autograd/op_names.h"
#include "autograd/record.h"

namespace ha {

class FunctionNode : public Node {
 public:
  using Backward = std::function<std::vector<Tensor>(const Tensor& grad)>;
  FunctionNode(OpName op, Backward fn) : op_(op), fn_(std::move(fn)) {}
  const char* name() const override { return op_name(op_); }
  OpName op() const { return op_; }
  std::vector<Tensor> apply(std::vector<Tensor>& grads) override { return fn_(grads[0]); }
  void release() override { fn_ = nullptr; }

 private:
  OpName op_;
  Backward fn_;
};

// Records a single-output op (one of autograd/op_names.h): backward(g) returns one gradient per input (undefined
// where none is needed). Call only after needs_grad(inputs) returned true.
inline void record_op(OpName op, const std::vector<Tensor>& inputs, const Tensor& out,
                      FunctionNode::Backward backward) {
  record(std::make_shared<FunctionNode>(op, std::move(backward)), inputs, {out});
}

}  // namespace ha
