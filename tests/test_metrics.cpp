// The evaluation metrics against values computed by hand on tiny inputs (docs/definitions.md §7).
#include <gtest/gtest.h>

#include "tests/test_util.h"
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

}  // namespace
}  // namespace ha::test
