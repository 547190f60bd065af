// The evaluation protocols' arithmetic (docs/definitions.md §7), separate from any model so `hattn metrics` can score
// maps made by any tool. All sums are kept as counts so shards of a data set can be merged exactly.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ha::xai {

// ---- perturbation
constexpr int kPerturbationSteps = 10;  // i = 0..9: remove (H·W·i)/10 pixels
// Pixel order for removal: by value descending (positive test) or by −value descending (negative test);
// ties go to the lower pixel index in both.
std::vector<int64_t> removal_order(const std::vector<float>& pixel_map, bool positive);
// AUC = 100 · trapezoid over (i/10, accuracy_i), i = 0..9.
double perturbation_auc(const std::vector<double>& accuracy);

struct PerturbationCounts {
  std::vector<int64_t> correct = std::vector<int64_t>(kPerturbationSteps, 0);
  int64_t images = 0;
  std::vector<double> accuracy() const;
  void merge(const PerturbationCounts& o);
};

// ---- segmentation
struct SegmentationCounts {
  int64_t correct = 0, pixels = 0;
  int64_t intersection[2] = {0, 0}, union_[2] = {0, 0};  // background, foreground
  double ap_sum = 0, f1_sum = 0;
  int64_t images = 0;
  // Adds one image: map (any scale; min-maxed here) and 0/1 mask of the same size.
  void add(const std::vector<float>& map, const std::vector<uint8_t>& mask);
  void merge(const SegmentationCounts& o);
  double pixel_accuracy() const;
  double miou() const;
  double map() const;  // mean average precision over images
  double mf1() const;
};

// sklearn's average_precision_score for binary labels: Σ_n (R_n − R_{n−1}) P_n over distinct thresholds.
double average_precision(const std::vector<float>& scores, const std::vector<uint8_t>& labels);

}  // namespace ha::xai
