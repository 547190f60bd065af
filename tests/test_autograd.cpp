// The tape and backward engine: accumulation, retain_graph, no-grad, detach, hooks, retained gradients,
// deep graphs without recursion, and graph-build errors for non-differentiable ops.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/checkpoint.h"
#include "nn/adamw.h"
#include "nn/layers.h"
#include "ops/ops.h"
#include "tests/test_util.h"
#include "tensor/random.h"

namespace ha {
namespace {

using test::error_of;

Tensor vec(std::vector<double> v) { return Tensor::from_vector(v, {static_cast<int64_t>(v.size())}); }

TEST(Autograd, ChainRuleAndFanOut) {
  Tensor x = vec({1.0, 2.0, -3.0}).requires_grad_();
  // y = sum(x*x + 3x): x is used three times; gradients from every use accumulate: 2x + 3
  Tensor y = sum(add(mul(x, x), mul(x, 3.0)));
  y.backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{5, 7, -3}));
}

TEST(Autograd, LeafGradAccumulatesAcrossBackwardCalls) {
  Tensor x = vec({1.0, 2.0}).requires_grad_();
  sum(mul(x, 2.0)).backward();
  sum(mul(x, 3.0)).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{5, 5}));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, RetainGraph) {
  Tensor x = vec({2.0}).requires_grad_();
  Tensor y = sum(exp(x));
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 2 * std::exp(2.0));
  std::string msg = error_of([&] { y.backward(); });
  EXPECT_NE(msg.find("second time"), std::string::npos) << msg;
}

TEST(Autograd, NoGradScopeAndDetach) {
  Tensor x = vec({1.0}).requires_grad_();
  {
    NoGradGuard ng;
    Tensor y = mul(x, 2.0);
    EXPECT_FALSE(y.requires_grad());
  }
  EXPECT_TRUE(mul(x, 2.0).requires_grad());
  Tensor d = mul(x, 2.0).detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(d.is_leaf());
  std::string msg = error_of([&] { sum(d).backward(); });
  EXPECT_NE(msg.find("does not require grad"), std::string::npos) << msg;
}

TEST(Autograd, OnlyFloatingLeavesRequireGrad) {
  Tensor i = Tensor::zeros({2}, DType::I64);
  EXPECT_NE(error_of([&] { i.requires_grad_(); }).find("int64"), std::string::npos);
  Tensor x = vec({1.0}).requires_grad_();
  Tensor y = mul(x, 2.0);
  EXPECT_NE(error_of([&] { y.requires_grad_(false); }).find("leaf"), std::string::npos);
}

TEST(Autograd, HooksSeeAndReplaceGradients) {
  Tensor x = vec({1.0, 2.0}).requires_grad_();
  Tensor h = mul(x, 3.0);
  Tensor seen;
  h.register_hook([&](const Tensor& g) {
    seen = g.clone();
    return mul(g, 10.0);  // replaces the gradient flowing on
  });
  sum(mul(h, h)).backward();
  EXPECT_EQ(seen.to_vector<double>(), (std::vector<double>{6, 12}));          // d/dh = 2h
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{180, 360}));   // 10 * 2h * 3
  Tensor leaf = vec({1.0}).requires_grad_();
  int calls = 0;
  leaf.register_hook([&](const Tensor&) { ++calls; return Tensor(); });
  sum(add(mul(leaf, 2.0), mul(leaf, 5.0))).backward();
  EXPECT_EQ(calls, 1);  // once, with the total, even though the leaf has two uses
  EXPECT_EQ(leaf.grad().item(), 7);
}

TEST(Autograd, RetainGradOnIntermediates) {
  Tensor x = vec({1.0, -2.0}).requires_grad_();
  Tensor a = mul(x, 2.0);
  Tensor b = exp(a);
  a.retain_grad();
  sum(b).backward();
  ASSERT_TRUE(a.grad().defined());
  EXPECT_DOUBLE_EQ(a.grad().at({1}), std::exp(-4.0));
  EXPECT_FALSE(b.grad().defined());  // not retained
}

TEST(Autograd, DeepGraphNeedsNoRecursion) {
  // 200000 chained nodes: a recursive walk would overflow the stack.
  Tensor x = vec({1.0}).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 200000; ++i) y = add(y, 1e-6);
  sum(y).backward();
  EXPECT_EQ(x.grad().item(), 1.0);
}

TEST(Autograd, NonDifferentiableOpsFailAtGraphBuildTime) {
  Tensor x = vec({1.0, 2.0}).requires_grad_();
  Tensor c = vec({1.5, 1.5});
  std::string msg = error_of([&] { greater(x, c); });
  EXPECT_NE(msg.find("greater"), std::string::npos);
  EXPECT_NE(msg.find("not differentiable"), std::string::npos);
  NoGradGuard ng;
  EXPECT_EQ(greater(x, c).to_vector<double>(), (std::vector<double>{0, 1}));
}

TEST(Autograd, IntegerOutputsCarryNoGraph) {
  Tensor x = vec({1.0, 5.0, 2.0}).requires_grad_();
  Tensor i = argmax(x, 0);
  EXPECT_EQ(i.item(), 1);
  EXPECT_FALSE(i.requires_grad());
  ValuesIndices m = max(x, 0);
  EXPECT_TRUE(m.values.requires_grad());
  EXPECT_FALSE(m.indices.requires_grad());
}

TEST(Autograd, ConversionsAreDifferentiable) {
  Tensor x = vec({1.0, 2.0}).requires_grad_();
  Tensor y = mul(x.to(DType::F32), 2.0).to(DType::F64);
  sum(y).backward();
  EXPECT_EQ(x.grad().dtype(), DType::F64);
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{2, 2}));
  Tensor z = Tensor::from_vector<double>({1, 2, 3, 4}, {2, 2}).requires_grad_();
  sum(mul(z.transpose(0, 1).contiguous(), Tensor::from_vector<double>({1, 2, 3, 4}, {2, 2}))).backward();
  EXPECT_EQ(z.grad().to_vector<double>(), (std::vector<double>{1, 3, 2, 4}));
}

TEST(Autograd, ExplicitGradientMustMatch) {
  Tensor x = vec({1.0, 2.0}).requires_grad_();
  Tensor y = mul(x, 2.0);
  EXPECT_NE(error_of([&] { y.backward(); }).find("single-element"), std::string::npos);
  EXPECT_NE(error_of([&] { y.backward(vec({1.0})); }).find("does not match"), std::string::npos);
  y.backward(vec({1.0, 0.5}));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{2, 1}));
}

TEST(Autograd, SavedTensorsDoNotLeakThroughCycles) {
  std::weak_ptr<TensorImpl> weak;
  {
    Tensor x = vec({1.0}).requires_grad_();
    Tensor y = exp(x);  // exp saves its output: must not keep y's own node alive through a cycle
    weak = y.impl_ptr();
  }
  EXPECT_TRUE(weak.expired());
}

// A tensor that a node saved and that is then written in place would give a wrong gradient silently; backward
// refuses instead and names the op (PyTorch's contract). Views share the count; writes to tensors that no node
// saved (add's inputs) are fine; so is a write after the backward that read it.
TEST(Autograd, InPlaceWriteToASavedTensorIsAnErrorAtBackward) {
  {
    Tensor a = vec({1.0, 2.0}).requires_grad_(), b = vec({3.0, 4.0});
    Tensor y = sum(mul(a, b));  // mul saves b for a's gradient
    b.fill_(0.0);
    const std::string msg = error_of([&] { y.backward(); });
    EXPECT_NE(msg.find("backward of mul"), std::string::npos) << msg;
    EXPECT_NE(msg.find("modified in place"), std::string::npos) << msg;
  }
  {
    Tensor base = vec({1.0, 2.0, 3.0, 4.0});
    Tensor a = vec({1.0, 2.0}).requires_grad_();
    Tensor y = sum(mul(a, base.narrow(0, 2, 2)));  // saves a view
    base.narrow(0, 0, 1).copy_(vec({9.0}));          // another view of the same storage
    EXPECT_NE(error_of([&] { y.backward(); }).find("backward of mul"), std::string::npos);
  }
  {
    Tensor a = vec({1.0, 2.0}).requires_grad_(), b = vec({3.0, 4.0});
    Tensor y = sum(add(mul(a, 2.0), b));  // add saves nothing
    raw::add_(b, vec({1.0, 1.0}));
    y.backward();
    EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{2, 2}));
    b.fill_(0.0);  // after the backward that read it
  }
  {  // ops that keep their input (log) or their returned indices (max) check them too
    Tensor x = vec({1.0, 2.0}).requires_grad_();
    Tensor y = sum(log(x));
    x.detach().fill_(3.0);
    EXPECT_NE(error_of([&] { y.backward(); }).find("backward of log"), std::string::npos);
    Tensor z = vec({1.0, 5.0, 2.0, 0.5}).reshape({2, 2}).requires_grad_();
    ValuesIndices m = max(z, 1);
    Tensor w = sum(m.values);
    m.indices.fill_(0.0);
    EXPECT_NE(error_of([&] { w.backward(); }).find("backward of max"), std::string::npos);
  }
  {  // an optimiser step between forward and backward makes the graph stale
    nn::Linear lin(2, 1, false);
    nn::AdamW opt(lin);
    Tensor x = vec({1.0, 2.0}).to(DType::F32).reshape({1, 2}).requires_grad_();
    Tensor y = sum(lin(x));  // x's gradient needs the weight: saved
    opt.step(1e-3);
    EXPECT_NE(error_of([&] { y.backward(); }).find("modified in place"), std::string::npos);
  }
}

// A checkpointed block gives the plain graph's gradients, bit for bit (the same ops run in the same order), for its
// input, for a parameter inside it, and for a gradient retained at its output; and it keeps no graph of its own.
TEST(Autograd, CheckpointGivesThePlainGradients) {
  Generator g(4);
  const Tensor x0 = randn({3, 5}, DType::F64, g), W0 = randn({5, 5}, DType::F64, g), R = randn({3, 5}, DType::F64, g);
  auto block = [](const Tensor& W) { return [W](const Tensor& x) { return mul(tanh(matmul(x, W)), add(x, 1.0)); }; };
  std::vector<std::vector<double>> grads[2];
  for (int checkpointed = 0; checkpointed < 2; ++checkpointed) {
    Tensor x = x0.clone(), W = W0.clone();
    x.requires_grad_();
    W.requires_grad_();
    Tensor h = mul(x, 2.0);
    Tensor y = checkpointed ? checkpoint(block(W), h) : block(W)(h);
    y.retain_grad();
    Tensor z = checkpointed ? checkpoint(block(W), y) : block(W)(y);  // two in a row: a backward inside a backward
    sum(mul(z, R)).backward();
    for (const Tensor& t : {x.grad(), W.grad(), y.grad()}) grads[checkpointed].push_back(t.to_vector<double>());
  }
  for (size_t k = 0; k < grads[0].size(); ++k) EXPECT_EQ(grads[0][k], grads[1][k]) << "gradient " << k;
  // without an input that requires grad, f just runs
  NoGradGuard ng;
  Tensor y = checkpoint(block(W0), x0);
  EXPECT_FALSE(y.requires_grad());
}

}  // namespace
}  // namespace ha
