// Mamba-2's chunked SSD form against its definition, the recurrence: each channel's selective scan with its
// head's Δ, A, D and its group's B, C. Awkward shapes on purpose: one token, lengths one short of and one past a
// chunk, several chunks with a padded last one, several groups, batch > 1.
#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace ha {
namespace {

struct Shapes {
  int64_t B, H, P, G, N, L, chunk;
};

SsdInputs random_inputs(const Shapes& s, DType dt, uint64_t seed) {
  Generator g(seed);
  SsdInputs in;
  in.x = randn({s.B, s.H * s.P, s.L}, dt, g);
  in.delta = uniform({s.B, s.H, s.L}, 0.01, 1.5, dt, g);
  in.A = mul(uniform({s.H}, 0.1, 4.0, dt, g), -1.0);
  in.Bm = randn({s.B, s.G * s.N, s.L}, dt, g);
  in.Cm = randn({s.B, s.G * s.N, s.L}, dt, g);
  in.D = randn({s.H}, dt, g);
  in.groups = s.G;
  in.chunk = s.chunk;
  return in;
}

// The recurrence, one selective scan per group with the per-head values repeated over the head's channels.
Tensor by_recurrence(const SsdInputs& in, const Shapes& s) {
  const int64_t Hg = s.H / s.G, Eg = Hg * s.P;
  std::vector<Tensor> ys;
  for (int64_t g = 0; g < s.G; ++g) {
    auto per_channel = [&](const Tensor& v) { return v.narrow(0, g * Hg, Hg).reshape({Hg, 1}).expand({Hg, s.P}).reshape({Eg}); };
    ScanInputs sc;
    sc.u = in.x.narrow(1, g * Eg, Eg);
    sc.delta = in.delta.narrow(1, g * Hg, Hg).reshape({s.B, Hg, 1, s.L}).expand({s.B, Hg, s.P, s.L}).reshape({s.B, Eg, s.L});
    sc.A = per_channel(in.A).reshape({Eg, 1}).expand({Eg, s.N});
    sc.Bm = in.Bm.narrow(1, g * s.N, s.N);
    sc.Cm = in.Cm.narrow(1, g * s.N, s.N);
    sc.D = per_channel(in.D);
    sc.delta_softplus = false;
    ys.push_back(selective_scan(sc));
  }
  return concat(ys, 1);
}

class SsdVsRecurrence : public ::testing::TestWithParam<Shapes> {};

TEST_P(SsdVsRecurrence, Float64) {
  const Shapes s = GetParam();
  const SsdInputs in = random_inputs(s, DType::F64, 7);
  test::expect_close(ssd_chunked(in), by_recurrence(in, s), "ssd.vs_recurrence.f64", "ssd f64");
}

TEST_P(SsdVsRecurrence, Float32) {
  const Shapes s = GetParam();
  const SsdInputs in = random_inputs(s, DType::F32, 7);
  // the float64 recurrence is the reference; float32 rounding scales with the largest terms (scaled check)
  SsdInputs in64 = in;
  for (Tensor* t : {&in64.x, &in64.delta, &in64.A, &in64.Bm, &in64.Cm, &in64.D}) *t = t->to(DType::F64);
  test::expect_close_scaled(ssd_chunked(in), by_recurrence(in64, s), "ssd.vs_recurrence.f32", "ssd f32");
}

INSTANTIATE_TEST_SUITE_P(Shapes, SsdVsRecurrence,
                         ::testing::Values(Shapes{1, 1, 1, 1, 1, 1, 64},      // one token
                                           Shapes{1, 2, 3, 1, 4, 63, 64},     // one short of a chunk
                                           Shapes{2, 4, 2, 2, 5, 65, 64},     // one past: a padded second chunk
                                           Shapes{1, 6, 4, 3, 8, 197, 16},    // 13 chunks, 3 groups
                                           Shapes{1, 3, 5, 1, 16, 128, 32}),  // whole chunks only
                         [](const auto& info) {
                           const Shapes& s = info.param;
                           return "L" + std::to_string(s.L) + "_Q" + std::to_string(s.chunk) + "_G" + std::to_string(s.G);
                         });

// Chunk size is an implementation choice: outputs agree across chunk sizes to rounding.
TEST(Ssd, ChunkSizeDoesNotMatter) {
  const Shapes s{1, 2, 3, 1, 4, 50, 7};
  SsdInputs in = random_inputs(s, DType::F64, 3);
  const Tensor ref = ssd_chunked(in);
  for (int64_t q : {1, 5, 50, 1000}) {
    in.chunk = q;
    test::expect_close(ssd_chunked(in), ref, "ssd.vs_recurrence.f64", "chunk " + std::to_string(q));
  }
}

// Long chunks with strong decay: every exponent stays ≤ 0, so nothing overflows or turns NaN.
TEST(Ssd, StrongDecayStaysFinite) {
  const Shapes s{1, 2, 2, 1, 4, 300, 128};
  SsdInputs in = random_inputs(s, DType::F32, 5);
  in.A = mul(in.A, 50.0);
  in.delta = add(in.delta, 5.0);
  const Tensor y = ssd_chunked(in);
  for (float v : y.to_vector<float>()) ASSERT_TRUE(std::isfinite(v));
  SsdInputs in64 = in;
  for (Tensor* t : {&in64.x, &in64.delta, &in64.A, &in64.Bm, &in64.Cm, &in64.D}) *t = t->to(DType::F64);
  test::expect_close_scaled(y, by_recurrence(in64, s), "ssd.vs_recurrence.f32", "strong decay");
}

TEST(Ssd, RejectsBadShapes) {
  const Shapes s{1, 2, 3, 1, 4, 10, 4};
  SsdInputs in = random_inputs(s, DType::F64, 1);
  SsdInputs bad = in;
  bad.delta = in.delta.narrow(2, 0, 9);
  EXPECT_NE(test::error_of([&] { ssd_chunked(bad); }).find("delta"), std::string::npos);
  bad = in;
  bad.groups = 4;  // 2 heads cannot form 4 groups
  EXPECT_NE(test::error_of([&] { ssd_chunked(bad); }).find("groups"), std::string::npos);
  bad = in;
  bad.chunk = 0;
  EXPECT_NE(test::error_of([&] { ssd_chunked(bad); }).find("chunk"), std::string::npos);
}

}  // namespace
}  // namespace ha
