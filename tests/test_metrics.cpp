// The evaluation metrics against values computed by hand on tiny inputs (docs/definitions.md §7).
#include <gtest/gtest.h>

#include "tests/test_util.h"
#include "xai/evaluate.h"
#include "xai/metrics.h"

namespace ha::test {
namespace {

TEST(Metrics, PerturbationAucIsTheTrapezoidIncludingZero) {
  // accuracies 1.0, 0.9, ..., 0.1: trapezoids of width 0.1 -> 0.1 * (0.5*1.0 + 0.9+...+0.2 + 0.5*0.1) = 0.495
  std::vector<double> acc;
  for (int i = 0; i < 10; ++i) acc.push_back(1.0 - 0.1 * i);
  EXPECT_NEAR(xai::perturbation_auc(acc), 49.5, 1e-12);
  EXPECT_NEAR(xai::perturbation_auc(std::vector<double>(10, 1.0)), 90.0, 1e-12);  // x spans 0..0.9
  EXPECT_NE(error_of([] { xai::perturbation_auc({1.0, 0.5}); }).find("expected 10"), std::string::npos);
}

TEST(Metrics, RemovalOrderAndTies) {
  std::vector<float> m{0.5f, 0.9f, 0.5f, 0.1f};
  EXPECT_EQ(xai::removal_order(m, true), (std::vector<int64_t>{1, 0, 2, 3}));   // ties: lower index first
  EXPECT_EQ(xai::removal_order(m, false), (std::vector<int64_t>{3, 0, 2, 1}));  // by -map, ties lower index
}

TEST(Metrics, AveragePrecisionStepwise) {
  // scores 0.9 (pos), 0.8 (neg), 0.7 (pos), 0.1 (neg): AP = 0.5 * 1 + 0.5 * (2/3) = 0.8333...
  EXPECT_NEAR(xai::average_precision({0.9f, 0.8f, 0.7f, 0.1f}, {1, 0, 1, 0}), 0.5 + 0.5 * 2.0 / 3.0, 1e-12);
  // a tie between a positive and a negative at the top: one threshold, precision 1/2 at recall 1/2
  EXPECT_NEAR(xai::average_precision({0.5f, 0.5f, 0.2f, 0.1f}, {1, 0, 1, 0}), 0.5 * 0.5 + 0.5 * 2.0 / 3.0, 1e-12);
  EXPECT_EQ(xai::average_precision({0.3f, 0.2f}, {0, 0}), 0.0);
}

TEST(Metrics, SegmentationByHand) {
  // map (min-maxed: 0, 1/4, 3/4, 1: exact in binary, so the ties below are real), mean 0.5 -> prediction 0 0 1 1;
  // mask 0 1 1 1
  xai::SegmentationCounts s;
  s.add({0, 1, 3, 4}, {0, 1, 1, 1});
  EXPECT_NEAR(s.pixel_accuracy(), 3.0 / 4, 1e-12);
  // background: pred {0,1}, truth {0}: I 1, U 2; foreground: pred {2,3}, truth {1,2,3}: I 2, U 3
  EXPECT_NEAR(s.miou(), (0.5 + 2.0 / 3) / 2, 1e-12);
  EXPECT_NEAR(s.mf1(), 2.0 * 2 / (2 * 2 + 0 + 1), 1e-12);  // TP 2, FP 0, FN 1
  // AP of scores [1-m, m] = [1, 3/4, 1/4, 0, 0, 1/4, 3/4, 1] vs labels [1, 0, 0, 0, 0, 1, 1, 1]:
  // sorted: 1 (pos), 1 (pos) tie -> P 1 at R 2/4; 3/4 (neg), 3/4 (pos) tie -> P 3/4 at R 3/4;
  // 1/4 (neg), 1/4 (pos) -> P 4/6 at R 1; AP = 0.5 * 1 + 0.25 * 0.75 + 0.25 * 4/6
  EXPECT_NEAR(s.map(), 0.5 + 0.25 * 0.75 + 0.25 * 4.0 / 6, 1e-12);
  // merging two shards equals adding both images to one
  xai::SegmentationCounts a, b, both;
  a.add({0, 1, 0, 1}, {0, 1, 0, 1});
  b.add({3, 1, 2, 0}, {1, 0, 0, 0});
  both.add({0, 1, 0, 1}, {0, 1, 0, 1});
  both.add({3, 1, 2, 0}, {1, 0, 0, 0});
  a.merge(b);
  EXPECT_EQ(a.pixel_accuracy(), both.pixel_accuracy());
  EXPECT_EQ(a.miou(), both.miou());
  EXPECT_EQ(a.map(), both.map());
  EXPECT_EQ(a.mf1(), both.mf1());
  // a flat map predicts nothing: F1 0, defined
  xai::SegmentationCounts flat;
  flat.add({2, 2, 2, 2}, {0, 1, 0, 0});
  EXPECT_EQ(flat.mf1(), 0.0);
  EXPECT_NEAR(flat.pixel_accuracy(), 0.75, 1e-12);
}

// The blur fill of the perturbation test: a constant image stays constant; a white dot becomes the separable
// Gaussian's outer product (weights exp(-k²/2σ²) over |k| <= ⌈3σ⌉, normalised), rounded to 8 bits; at a border
// the kernel reflects (scipy.ndimage's 'reflect': the edge pixel repeats).
TEST(Metrics, GaussianBlurFill) {
  Image8 flat;
  flat.width = flat.height = 9;
  flat.rgb.assign(9 * 9 * 3, 77);
  EXPECT_EQ(xai::gaussian_blur(flat, 2.0).rgb, flat.rgb);
  const double sigma = 1.5;
  const int64_t n = 21, r = 5, mid = 10;
  Image8 dot;
  dot.width = dot.height = n;
  dot.rgb.assign(n * n * 3, 0);
  for (int c = 0; c < 3; ++c) dot.rgb[(mid * n + mid) * 3 + c] = 255;
  std::vector<double> w(2 * r + 1);
  double total = 0;
  for (int64_t k = -r; k <= r; ++k) total += w[k + r] = std::exp(-double(k * k) / (2 * sigma * sigma));
  const Image8 b = xai::gaussian_blur(dot, sigma);
  for (int64_t y = 0; y < n; ++y)
    for (int64_t x = 0; x < n; ++x) {
      const int64_t dy = y - mid, dx = x - mid;
      const double want = std::abs(dy) <= r && std::abs(dx) <= r ? w[dy + r] * w[dx + r] / (total * total) : 0.0;
      ASSERT_EQ(b.rgb[(y * n + x) * 3 + 1], static_cast<uint8_t>(std::lround(255 * want))) << y << "," << x;
    }
  // at the border: a dot in the corner (0, 0) also receives its reflection (index -1 reads 0, -2 reads 1, ...)
  Image8 corner = dot;
  corner.rgb.assign(n * n * 3, 0);
  for (int c = 0; c < 3; ++c) corner.rgb[c] = 255;
  const double w0 = w[r] / total, w1 = w[r + 1] / total;  // the weight at 0 and at distance 1
  const Image8 bc = xai::gaussian_blur(corner, sigma);
  EXPECT_EQ(bc.rgb[0], static_cast<uint8_t>(std::lround(255 * (w0 + w1) * (w0 + w1))));  // itself and its mirror
  EXPECT_EQ(xai::parse_fill("blur"), xai::Fill::Blur);
  EXPECT_NE(error_of([] { xai::parse_fill("grey"); }), "");
}

}  // namespace
}  // namespace ha::test
