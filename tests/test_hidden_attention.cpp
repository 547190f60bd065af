// Hidden attention identities (docs/definitions.md §4) on random float64 traces:
// the exact matrix reproduces the S6 output, the official vector is the exact row with C_cls/exp(Δ_cls A)
// and no diagonal, the unified row reproduces the gated output when conv bias and D are zero, and the
// channel reductions equal the reductions of the full matrices.
#include <gtest/gtest.h>

#include "xai/hidden_attention.h"
#include "tests/test_util.h"

namespace ha::test {
namespace {

using nn::DirectionTrace;
using nn::MixerTrace;

DirectionTrace random_trace(Generator& g, int64_t E, int64_t L, int64_t N, int64_t K = 4) {
  DirectionTrace t;
  t.delta = uniform({1, E, L}, 0.05, 0.6, DType::F64, g);
  t.A = mul(uniform({E, N}, 0.3, 2.0, DType::F64, g), -1.0);
  t.Bm = randn({1, N, L}, DType::F64, g);
  t.Cm = randn({1, N, L}, DType::F64, g);
  t.D = randn({E}, DType::F64, g);
  t.z = randn({1, E, L}, DType::F64, g);
  t.pre = randn({1, E, L}, DType::F64, g);
  t.conv_weight = randn({E, K}, DType::F64, g);
  return t;
}

// y = S6 scan without D and gate (Δ used as is)
Tensor s6(const DirectionTrace& t, const Tensor& u) {
  return selective_scan({u, t.delta, t.A, t.Bm, t.Cm, Tensor(), Tensor(), Tensor(), false, false});
}

// out[e, i] = Σ_j M[e, i, j] x[e, j]
Tensor apply_rows(const Tensor& M, const Tensor& x) { return sum(mul(M, x.unsqueeze(1)), {2}); }

TEST(HiddenAttention, MatricesReproduceTheScanOutput) {
  Generator g(1);
  const int64_t E = 5, L = 23, N = 4;
  MixerTrace m{random_trace(g, E, L, N), random_trace(g, E, L, N)};
  Tensor u = randn({1, E, L}, DType::F64, g);
  Tensor Mf = xai::attention_matrices(m, xai::Direction::Fwd, 0, 0, E);
  expect_close(apply_rows(Mf, u.select(0, 0)), s6(m.fwd, u).select(0, 0), "attention.identity", "fwd: α u = y - D u");
  // backward direction: the scan ran on the reversed sequence; its matrix is given in original order
  Tensor Mb = xai::attention_matrices(m, xai::Direction::Bwd, 0, 0, E);
  Tensor yb = s6(m.bwd, u.flip(2).contiguous()).flip(2);
  expect_close(apply_rows(Mb, u.select(0, 0)), yb.select(0, 0), "attention.identity", "bwd, original order");
  Tensor Ms = xai::attention_matrices(m, xai::Direction::Sum, 0, 1, 3);
  expect_close(Ms, add(Mf.narrow(0, 1, 2), Mb.narrow(0, 1, 2)), "attention.identity", "sum = fwd + bwd, channels 1:3");
  // causal structure
  EXPECT_EQ(Mf.at({0, 3, 4}), 0.0);
  EXPECT_EQ(Mb.at({0, 4, 3}), 0.0);
}

TEST(HiddenAttention, ExactRowsAreMatrixRows) {
  Generator g(2);
  const int64_t E = 3, L = 17, N = 5, q = 8;
  MixerTrace m{random_trace(g, E, L, N), random_trace(g, E, L, N)};
  Tensor F = xai::attention_matrices(m, xai::Direction::Sum, 0, 0, E);
  expect_close(xai::cls_rows(m, 0, q, xai::RowKind::Exact), F.select(1, q), "attention.identity", "F[:, cls, :]");
}

TEST(HiddenAttention, OfficialVectorIsTheExactRowWithoutTheClsFactor) {
  Generator g(3);
  const int64_t L = 19, N = 4, q = 9;
  DirectionTrace t = random_trace(g, 1, L, N);  // one channel, so C_q / exp(Δ_q A) is a valid C column
  DirectionTrace t2 = t;
  t2.Cm = t.Cm.clone();
  for (int64_t n = 0; n < N; ++n) {
    double c = t.Cm.at({0, n, q}) / std::exp(t.delta.at({0, 0, q}) * t.A.at({0, n}));
    raw::narrow(raw::narrow(t2.Cm, 1, n, 1), 2, q, 1).fill_(c);
  }
  Tensor official = xai::direction_rows(t, 0, q, xai::RowKind::Official);
  Tensor exact = xai::direction_rows(t2, 0, q, xai::RowKind::Exact);
  EXPECT_EQ(official.at({0, q}), 0.0);  // the diagonal is dropped
  raw::narrow(exact, 1, q, 1).fill_(0);
  expect_close(official, exact, "attention.identity", "official = exact with C_q/exp(Δ_q A), no diagonal");
}

TEST(HiddenAttention, OfficialSpliceOfBothDirections) {
  Generator g(4);
  const int64_t E = 3, L = 17, N = 4, cls = 8;
  MixerTrace m{random_trace(g, E, L, N), random_trace(g, E, L, N)};
  Tensor V = xai::cls_rows(m, 0, cls, xai::RowKind::Official);
  Tensor f = xai::direction_rows(m.fwd, 0, cls, xai::RowKind::Official);
  Tensor b = xai::direction_rows(m.bwd, 0, L - 1 - cls, xai::RowKind::Official);
  for (int64_t e = 0; e < E; ++e)
    for (int64_t j = 0; j < L; ++j) {
      double want = j < cls ? f.at({e, j}) : j == cls ? 0.0 : b.at({e, L - 1 - j});
      EXPECT_EQ(V.at({e, j}), want) << e << "," << j;
    }
}

TEST(HiddenAttention, UnifiedRowReproducesTheGatedOutput) {
  Generator g(5);
  const int64_t E = 4, L = 21, N = 4, K = 4;
  DirectionTrace t = random_trace(g, E, L, N, K);
  Tensor x = randn({1, E, L}, DType::F64, g);
  t.pre = causal_conv1d(x, t.conv_weight, Tensor());  // conv bias 0
  Tensor y = selective_scan({silu(t.pre), t.delta, t.A, t.Bm, t.Cm, Tensor(), t.z, Tensor(), false, false});  // D 0
  for (int64_t q : {int64_t(0), int64_t(1), int64_t(7), L - 1}) {
    Tensor row = xai::direction_rows(t, 0, q, xai::RowKind::Unified);  // (E, L)
    Tensor got = sum(mul(row, x.select(0, 0)), {1});
    expect_close(got, y.select(0, 0).select(1, q), "attention.identity", str("unified row ", q, " · x = y_q"));
  }
}

TEST(HiddenAttention, LayerStatsEqualReductionsOfTheFullMatrices) {
  Generator g(6);
  const int64_t E = 37, L = 13, N = 3;  // more than one channel block
  MixerTrace m{random_trace(g, E, L, N), random_trace(g, E, L, N)};
  xai::LayerAttentionStats s = xai::layer_attention_stats(m, 0);
  Tensor F = xai::attention_matrices(m, xai::Direction::Sum, 0, 0, E);
  expect_close(s.mean_fwd, mean(xai::attention_matrices(m, xai::Direction::Fwd, 0, 0, E), {0}), "attention.identity", "mean fwd");
  expect_close(s.mean_bwd, mean(xai::attention_matrices(m, xai::Direction::Bwd, 0, 0, E), {0}), "attention.identity", "mean bwd");
  expect_close(s.mean_sum, mean(F, {0}), "attention.identity", "mean F");
  expect_close(s.mean_relu_sum, mean(relu(F), {0}), "attention.identity", "mean max(F, 0)");
  EXPECT_NEAR(s.min_sum, amin(F).item(), 1e-12);
  EXPECT_NEAR(s.max_sum, amax(F).item(), 1e-12);
}

}  // namespace
}  // namespace ha::test
