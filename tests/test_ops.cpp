// Forward values of the ops against independent references (naive loops, hand-computed numbers, the
// composite scan), thread-count-independent determinism, and error messages that name op and shapes.
#include <gtest/gtest.h>

#include <cmath>

#include "ops/cpu/gemm.h"
#include "tensor/parallel.h"
#include "tests/test_util.h"

namespace ha::test {
namespace {

void expect_mentions(const std::string& msg, std::initializer_list<const char*> parts) {
  EXPECT_FALSE(msg.empty()) << "no error was raised";
  for (const char* p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "message '" << msg << "' lacks '" << p << "'";
}

template <class T>
Tensor naive_matmul(const Tensor& a, const Tensor& b) {
  const int64_t M = a.size(0), K = a.size(1), N = b.size(1);
  Tensor c = Tensor::zeros({M, N}, dtype_of<T>::value);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += a.at({i, k}) * b.at({k, j});
      c.data<T>()[i * N + j] = static_cast<T>(acc);
    }
  return c;
}

TEST(Matmul, MatchesNaiveOnAwkwardShapes) {
  Generator g(5);
  for (auto [M, K, N] : {std::tuple{197, 65, 33}, std::tuple{1, 300, 7}, std::tuple{13, 1, 49}, std::tuple{70, 513, 40}}) {
    Tensor a = randn({M, K}, DType::F64, g), b = randn({K, N}, DType::F64, g);
    expect_close(matmul(a, b), naive_matmul<double>(a, b), "gemm.vs_naive.f64", str("f64 ", M, "x", K, "x", N));
    Tensor af = a.to(DType::F32), bf = b.to(DType::F32);
    expect_close(matmul(af, bf), naive_matmul<double>(a, b), "gemm.vs_naive.f32", str("f32 ", M, "x", K, "x", N));
    // transposed operands are strided views, not copies
    Tensor at = a.transpose(0, 1).contiguous().transpose(0, 1);
    expect_close(matmul(at, b), naive_matmul<double>(a, b), "gemm.vs_naive.f64", "transposed A");
  }
}

TEST(Matmul, BatchedBroadcastAndLinear) {
  Generator g(6);
  Tensor a = randn({2, 1, 5, 7}, DType::F64, g), b = randn({3, 7, 4}, DType::F64, g);
  Tensor c = matmul(a, b);
  ASSERT_EQ(c.shape(), (Shape{2, 3, 5, 4}));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j)
      expect_close(c.select(0, i).select(0, j), naive_matmul<double>(a.select(0, i).select(0, 0), b.select(0, j)),
                   "gemm.vs_naive.f64", str("batch ", i, ",", j));
  Tensor x = randn({3, 5, 7}, DType::F64, g), w = randn({4, 7}, DType::F64, g), bias = randn({4}, DType::F64, g);
  Tensor y = linear(x, w, bias);
  expect_close(y, add(matmul(x, w.transpose(0, 1)), bias), "gemm.vs_naive.f64", "linear");
  // a batched input whose rows do not merge (the mixer's (B, L, E) view of a (B, E, L) tensor): per-item
  // GEMMs instead of a flattening copy; forward and both gradients as for the contiguous copy
  Tensor base = randn({3, 7, 5}, DType::F64, g);
  Tensor xt = base.detach().requires_grad_(), xc = base.detach().requires_grad_();
  Tensor wt = w.detach().requires_grad_(), wc = w.detach().requires_grad_();
  Tensor yt = linear(xt.transpose(1, 2), wt), yc = linear(xc.transpose(1, 2).contiguous(), wc);
  expect_close(yt, yc, "gemm.vs_naive.f64", "linear of a transposed batch");
  Tensor r = randn(yt.shape(), DType::F64, g);
  yt.backward(r);
  yc.backward(r);
  expect_close(xt.grad(), xc.grad(), "gemm.vs_naive.f64", "d input, transposed batch");
  expect_close(wt.grad(), wc.grad(), "gemm.vs_naive.f64", "d weight, transposed batch");
}

TEST(Conv2d, MatchesDirectConvolution) {
  Generator g(7);
  Tensor x = randn({2, 3, 9, 11}, DType::F64, g), w = randn({4, 3, 3, 5}, DType::F64, g), b = randn({4}, DType::F64, g);
  const int64_t sh = 2, sw = 3, ph = 1, pw = 2;
  Tensor y = conv2d(x, w, b, {sh, sw}, {ph, pw});
  const int64_t Ho = (9 + 2 * ph - 3) / sh + 1, Wo = (11 + 2 * pw - 5) / sw + 1;
  ASSERT_EQ(y.shape(), (Shape{2, 4, Ho, Wo}));
  Tensor ref = Tensor::zeros(y.shape(), DType::F64);
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t o = 0; o < 4; ++o)
      for (int64_t i = 0; i < Ho; ++i)
        for (int64_t j = 0; j < Wo; ++j) {
          double acc = b.at({o});
          for (int64_t c = 0; c < 3; ++c)
            for (int64_t u = 0; u < 3; ++u)
              for (int64_t v = 0; v < 5; ++v) {
                int64_t h = i * sh - ph + u, ww = j * sw - pw + v;
                if (h >= 0 && h < 9 && ww >= 0 && ww < 11) acc += x.at({n, c, h, ww}) * w.at({o, c, u, v});
              }
          ref.data<double>()[((n * 4 + o) * Ho + i) * Wo + j] = acc;
        }
  expect_close(y, ref, "conv2d.vs_naive.f64", "conv2d");
}

TEST(CausalConv1d, UsesOnlyPastInputs) {
  // one channel, w = [1, 10, 100, 1000]: y_t = 1000 x_t + 100 x_{t-1} + 10 x_{t-2} + x_{t-3} + bias
  Tensor x = Tensor::from_vector<double>({1, 2, 3, 4, 5}, {1, 1, 5});
  Tensor w = Tensor::from_vector<double>({1, 10, 100, 1000}, {1, 4});
  Tensor y = causal_conv1d(x, w, Tensor::from_vector<double>({0.5}, {1}));
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{1000.5, 2100.5, 3210.5, 4321.5, 5432.5}));
}

TEST(Upsample, MatchesPyTorchAlignCornersFalse) {
  Tensor x = Tensor::from_vector<double>({1, 2, 3, 4}, {1, 1, 2, 2});
  Tensor y = upsample_bilinear(x, 4, 4);
  // torch.nn.functional.interpolate(x, size=(4, 4), mode="bilinear", align_corners=False)
  Tensor ref = Tensor::from_vector<double>({1.0, 1.25, 1.75, 2.0, 1.5, 1.75, 2.25, 2.5,
                                            2.5, 2.75, 3.25, 3.5, 3.0, 3.25, 3.75, 4.0}, {1, 1, 4, 4});
  expect_close(y, ref, "upsample.vs_formula", "2x2 -> 4x4");
  // identity when sizes match
  Generator g(8);
  Tensor r = randn({2, 3, 5, 7}, DType::F64, g);
  expect_close(upsample_bilinear(r, 5, 7), r, "upsample.vs_formula", "identity");
}

TEST(Elementwise, KnownValues) {
  Tensor x = Tensor::from_vector<double>({-30, 0, 20.5, 25}, {4});
  std::vector<double> sp = softplus(x).to_vector<double>();
  EXPECT_NEAR(sp[0], std::log1p(std::exp(-30.0)), 1e-300);
  EXPECT_DOUBLE_EQ(sp[1], std::log(2.0));
  EXPECT_EQ(sp[2], 20.5);  // threshold: x itself above 20
  EXPECT_EQ(sp[3], 25);
  EXPECT_DOUBLE_EQ(silu(x).to_vector<double>()[1], 0);
  EXPECT_NEAR(gelu(Tensor::from_vector<double>({1.0}, {1})).item(), 0.8413447460685429, 1e-15);
  EXPECT_EQ(clamp(x, -1, 1).to_vector<double>(), (std::vector<double>{-1, 0, 1, 1}));
  EXPECT_EQ(maximum(x, Tensor::scalar(1, DType::F64)).to_vector<double>(), (std::vector<double>{1, 1, 20.5, 25}));
}

TEST(Reduce, ValuesIndicesAndNormalise) {
  Tensor x = Tensor::from_vector<double>({3, 7, 7, 1, -2, 5}, {2, 3});
  EXPECT_EQ(sum(x, {1}).to_vector<double>(), (std::vector<double>{17, 4}));
  EXPECT_EQ(mean(x, {0}, true).shape(), (Shape{1, 3}));
  ValuesIndices m = max(x, 1);
  EXPECT_EQ(m.values.to_vector<double>(), (std::vector<double>{7, 5}));
  EXPECT_EQ(m.indices.to_vector<int64_t>(), (std::vector<int64_t>{1, 2}));  // first of the tie
  EXPECT_EQ(argmax(x, 0).to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 0}));
  EXPECT_EQ(amin(x).item(), -2);
  Tensor n = minmax_normalize(x);
  EXPECT_DOUBLE_EQ(amin(n).item(), 0);
  EXPECT_DOUBLE_EQ(amax(n).item(), 1);
  EXPECT_EQ(minmax_normalize(Tensor::full({3}, 2.0, DType::F64)).to_vector<double>(), (std::vector<double>(3, 0)));
  // a long float32 sum is accumulated in double
  EXPECT_EQ(sum(Tensor::full({1 << 20}, 0.1f)).item(), static_cast<float>((1 << 20) * double(0.1f)));
}

TEST(Norms, MatchTheirDefinitions) {
  Generator g(9);
  Tensor x = randn({3, 17, 7}, DType::F64, g), w = randn({7}, DType::F64, g), b = randn({7}, DType::F64, g);
  Tensor rms = mul(mul(x, rsqrt(add(mean(mul(x, x), {-1}, true), 1e-5))), w);
  expect_close(rms_norm(x, w, 1e-5), rms, "gemm.vs_naive.f64", "rms_norm");
  Tensor mu = mean(x, {-1}, true);
  Tensor var = mean(mul(sub(x, mu), sub(x, mu)), {-1}, true);
  Tensor ln = add(mul(mul(sub(x, mu), rsqrt(add(var, 1e-5))), w), b);
  expect_close(layer_norm(x, w, b, 1e-5), ln, "gemm.vs_naive.f64", "layer_norm");
  Tensor s = softmax(x, 1);
  expect_close(sum(s, {1}), Tensor::ones({3, 7}, DType::F64), "gemm.vs_naive.f64", "softmax sums to 1");
  expect_close(log_softmax(x, 1), log(s), "gemm.vs_naive.f64", "log_softmax = log(softmax)");
  Tensor logits = Tensor::from_vector<double>({0, 0, std::log(2.0)}, {1, 3});
  EXPECT_NEAR(cross_entropy(logits, Tensor::from_vector<int64_t>({2}, {1})).item(), std::log(2.0), 1e-15);
}

TEST(Indexing, ConcatStackSelectGather) {
  Tensor a = Tensor::from_vector<double>({1, 2, 3, 4}, {2, 2}), b = Tensor::from_vector<double>({5, 6}, {2, 1});
  EXPECT_EQ(concat({a, b}, 1).to_vector<double>(), (std::vector<double>{1, 2, 5, 3, 4, 6}));
  EXPECT_EQ(stack({a, a}, 0).shape(), (Shape{2, 2, 2}));
  Tensor idx = Tensor::from_vector<int64_t>({1, 1, 0}, {3});
  EXPECT_EQ(index_select(a, 0, idx).to_vector<double>(), (std::vector<double>{3, 4, 3, 4, 1, 2}));
  Tensor gi = Tensor::from_vector<int64_t>({1, 0}, {2, 1});
  EXPECT_EQ(gather(a, 1, gi).to_vector<double>(), (std::vector<double>{2, 3}));
  EXPECT_EQ(scatter_add({2, 2}, 1, gi, Tensor::from_vector<double>({7, 8}, {2, 1})).to_vector<double>(),
            (std::vector<double>{0, 7, 8, 0}));
}

ScanInputs random_scan(Generator& g, DType dt, int64_t B, int64_t E, int64_t L, int64_t N, bool reverse) {
  return {randn({B, E, L}, dt, g), mul(randn({B, E, L}, dt, g), 0.5), mul(uniform({E, N}, 0.5, 2, dt, g), -1.0),
          randn({B, N, L}, dt, g), randn({B, N, L}, dt, g), randn({E}, dt, g), randn({B, E, L}, dt, g),
          mul(randn({E}, dt, g), 0.3), true, reverse};
}

std::vector<Tensor> scan_grads(ScanInputs s, bool fused, const Tensor& R) {
  std::vector<Tensor*> ts{&s.u, &s.delta, &s.A, &s.Bm, &s.Cm, &s.D, &s.z, &s.delta_bias};
  for (Tensor* t : ts) *t = t->detach().requires_grad_();
  Tensor y = fused ? selective_scan(s) : selective_scan_composite(s);
  sum(mul(y, R)).backward();
  std::vector<Tensor> out{y.detach()};
  for (Tensor* t : ts) out.push_back(t->grad());
  return out;
}

TEST(SelectiveScan, FusedMatchesCompositeForwardAndBackward) {
  const char* names[] = {"y", "du", "ddelta", "dA", "dB", "dC", "dD", "dz", "ddelta_bias"};
  for (DType dt : {DType::F64, DType::F32}) {
    for (bool reverse : {false, true}) {
      Generator g(11);
      ScanInputs s = random_scan(g, dt, 3, 5, 197, 16, reverse);
      Tensor R = randn({3, 5, 197}, dt, g);
      std::vector<Tensor> fused = scan_grads(s, true, R), comp = scan_grads(s, false, R);
      for (size_t i = 0; i < fused.size(); ++i)
        expect_close(fused[i], comp[i], dt == DType::F64 ? "scan.fused_vs_composite.f64" : "scan.fused_vs_composite.f32",
                     str(dtype_name(dt), reverse ? " reverse " : " forward ", names[i]));
    }
  }
}

TEST(SelectiveScan, ReverseFlagEqualsFlippedInputs) {
  Generator g(12);
  ScanInputs s = random_scan(g, DType::F64, 2, 3, 17, 4, true);
  Tensor y_rev = selective_scan(s);
  ScanInputs f = s;
  f.reverse = false;
  f.u = s.u.flip(2), f.delta = s.delta.flip(2), f.Bm = s.Bm.flip(2), f.Cm = s.Cm.flip(2), f.z = s.z.flip(2);
  expect_close(y_rev, selective_scan(f).flip(2), "scan.fused_vs_composite.f64", "reverse vs flip");
}

TEST(Determinism, BitwiseEqualAcrossRunsAndThreadCounts) {
  Generator g(13);
  ScanInputs s = random_scan(g, DType::F32, 2, 40, 197, 16, false);
  Tensor R = randn({2, 40, 197}, DType::F32, g);
  Tensor a = randn({197, 384}, DType::F32, g), b = randn({384, 300}, DType::F32, g);
  Tensor x = randn({3, 197, 64}, DType::F32, g), w = randn({64}, DType::F32, g);
  auto run = [&] {
    std::vector<Tensor> out = scan_grads(s, true, R);
    out.push_back(matmul(a, b));
    out.push_back(sum(a));
    Tensor xr = x.detach().requires_grad_(), wr = w.detach().requires_grad_();
    sum(mul(rms_norm(xr, wr, 1e-5), x)).backward();
    out.push_back(xr.grad());
    out.push_back(wr.grad());
    return out;
  };
  const int threads = num_threads();
  std::vector<Tensor> first = run(), second = run();
  set_num_threads(1);
  std::vector<Tensor> serial = run();
  set_num_threads(std::max(threads, 3));
  std::vector<Tensor> wide = run();
  set_num_threads(threads);
  for (size_t i = 0; i < first.size(); ++i) {
    expect_bitwise_equal(first[i], second[i], str("rerun ", i));
    expect_bitwise_equal(first[i], serial[i], str("1 thread ", i));
    expect_bitwise_equal(first[i], wide[i], str("3+ threads ", i));
  }
}

TEST(Errors, NameTheOpAndTheShapes) {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4, 5});
  expect_mentions(error_of([&] { add(a, b); }), {"add", "(2, 3)", "(4, 5)"});
  expect_mentions(error_of([&] { matmul(a, b); }), {"matmul", "(2, 3)", "(4, 5)"});
  expect_mentions(error_of([&] { mul(a, Tensor::zeros({2, 3}, DType::F64)); }), {"mul", "float32", "float64"});
  expect_mentions(error_of([&] { exp(Tensor::zeros({2}, DType::I64)); }), {"exp", "int64"});
  expect_mentions(error_of([&] { conv2d(Tensor::zeros({1, 3, 8, 8}), Tensor::zeros({4, 2, 3, 3}), Tensor(), {1, 1}); }),
                  {"conv2d", "(4, 2, 3, 3)", "(1, 3, 8, 8)"});
  expect_mentions(error_of([&] { index_select(a, 1, Tensor::from_vector<int64_t>({0, 3}, {2})); }),
                  {"index_select", "3", "(2, 3)"});
  expect_mentions(error_of([&] { gather(a, 0, Tensor::from_vector<int64_t>({-1}, {1, 1})); }), {"gather", "-1", "(2, 3)"});
  expect_mentions(error_of([&] { a.narrow(1, 2, 5); }), {"narrow", "(2, 3)"});
  expect_mentions(error_of([&] { sum(a, {2}); }), {"sum", "dim 2"});
  expect_mentions(error_of([&] { cross_entropy(a, Tensor::from_vector<int64_t>({0, 3}, {2})); }),
                  {"cross_entropy", "3", "(2, 3)"});
  ScanInputs s;
  s.u = s.delta = Tensor::zeros({1, 4, 9});
  s.A = Tensor::zeros({4, 16});
  s.Bm = Tensor::zeros({1, 16, 8});
  s.Cm = Tensor::zeros({1, 16, 9});
  expect_mentions(error_of([&] { selective_scan(s); }), {"selective_scan", "B", "(1, 16, 9)", "(1, 16, 8)"});
  expect_mentions(error_of([&] { rms_norm(a, Tensor::zeros({2}), 1e-5); }), {"rms_norm", "weight", "(3)", "(2)"});
}

}  // namespace
}  // namespace ha::test
