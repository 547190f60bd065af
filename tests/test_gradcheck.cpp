// Float64 finite-difference gradient check of every op with a backward: one test instance per sample of
// tests/op_samples.cpp, named after it (GradCheck/Op.Matches/<sample>); and the check that every op of
// autograd/op_names.h has a sample.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "autograd/op_names.h"
#include "autograd/record.h"
#include "tests/op_samples.h"
#include "tests/test_util.h"

namespace ha::test {
namespace {

class GradCheck : public ::testing::TestWithParam<OpSample> {};

TEST_P(GradCheck, Matches) {
  const OpSample& k = GetParam();
  Generator gen(42);
  gradcheck(k.name, k.make(gen), k.f, k.max_probes);
}

INSTANTIATE_TEST_SUITE_P(Op, GradCheck, ::testing::ValuesIn(op_samples()),
                         [](const ::testing::TestParamInfo<OpSample>& info) { return info.param.name; });

// The backward nodes a graph holds, by op.
void collect_ops(const std::shared_ptr<Node>& node, std::set<const Node*>& seen, std::set<std::string>& ops) {
  if (!node || !seen.insert(node.get()).second) return;
  ops.insert(node->name());
  for (const Edge& e : node->next_edges) collect_ops(e.fn, seen, ops);
}

// Every op of autograd/op_names.h has a sample whose graph holds its node, so the gradient check and the CUDA
// parity test reach it; the exemptions name the test that checks them instead.
TEST(OpCoverage, EveryBackwardOpHasASample) {
  const std::map<std::string, std::string> exempt = {
      {"rms_norm_lrp", "a modified backward, not a gradient: tests/test_lrp.cpp checks each rule"},
      {"silu_lrp", "a modified backward, not a gradient: tests/test_lrp.cpp checks each rule"},
      {"mul_lrp_half", "a modified backward, not a gradient: tests/test_lrp.cpp checks each rule"},
      {"ToDtypeBackward", "a float32 round trip is below finite differences' resolution: test_autograd checks it"},
      {"ToDeviceBackward", "needs a device: the CUDA tests take every gradient across devices"},
      {"index_select", "recorded by the CUDA rows path only (the CPU composes gather): sample index_select_rows in "
                       "Cuda.EveryOpSampleMatchesCpu"},
  };
  std::set<std::string> covered;
  for (const OpSample& k : op_samples()) {
    Generator gen(42);
    Inputs in = k.make(gen);
    for (Tensor& t : in) t.requires_grad_();
    const Tensor y = k.f(in);
    std::set<const Node*> seen;
    collect_ops(gradient_edge(y).fn, seen, covered);
  }
  for (int i = 0; i < kOpNameCount; ++i) {
    const std::string op = kOpNameStrings[i];
    if (exempt.count(op)) {
      EXPECT_FALSE(covered.count(op)) << op << " is exempt but has a sample: drop the exemption";
      continue;
    }
    EXPECT_TRUE(covered.count(op)) << "no sample in tests/op_samples.cpp takes '" << op << "' through its backward";
  }
}

}  // namespace
}  // namespace ha::test
