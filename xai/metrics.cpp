#include "xai/metrics.h"

#include <algorithm>
#include <numeric>

#include "tensor/error.h"

namespace ha::xai {

std::vector<int64_t> removal_order(const std::vector<float>& m, bool positive) {
  std::vector<int64_t> idx(m.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return positive ? m[a] > m[b] : m[a] < m[b]; });
  return idx;
}

double perturbation_auc(const std::vector<double>& acc) {
  HATTN_CHECK(acc.size() == size_t(kPerturbationSteps), "perturbation_auc: expected ", kPerturbationSteps,
              " accuracies, got ", acc.size());
  double area = 0;
  for (size_t i = 1; i < acc.size(); ++i) area += 0.5 * (acc[i - 1] + acc[i]) * 0.1;
  return 100 * area;
}

std::vector<double> PerturbationCounts::accuracy() const {
  std::vector<double> a(kPerturbationSteps, 0.0);
  for (int i = 0; i < kPerturbationSteps; ++i) a[i] = images ? double(correct[i]) / double(images) : 0.0;
  return a;
}

void PerturbationCounts::merge(const PerturbationCounts& o) {
  for (int i = 0; i < kPerturbationSteps; ++i) correct[i] += o.correct[i];
  images += o.images;
}

double average_precision(const std::vector<float>& scores, const std::vector<uint8_t>& labels) {
  HATTN_CHECK(scores.size() == labels.size(), "average_precision: ", scores.size(), " scores for ", labels.size(), " labels");
  const int64_t positives = std::count(labels.begin(), labels.end(), uint8_t(1));
  if (positives == 0) return 0.0;  // sklearn warns and returns 0 here as well (recall is undefined)
  std::vector<int64_t> idx(scores.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
  double ap = 0, prev_recall = 0;
  int64_t tp = 0, seen = 0;
  for (size_t k = 0; k < idx.size(); ++k) {
    tp += labels[idx[k]];
    ++seen;
    // one threshold per distinct score: evaluate only at the end of a run of ties
    if (k + 1 < idx.size() && scores[idx[k + 1]] == scores[idx[k]]) continue;
    const double recall = double(tp) / double(positives), precision = double(tp) / double(seen);
    ap += (recall - prev_recall) * precision;
    prev_recall = recall;
  }
  return ap;
}

void SegmentationCounts::add(const std::vector<float>& map_in, const std::vector<uint8_t>& mask) {
  HATTN_CHECK(map_in.size() == mask.size() && !mask.empty(), "segmentation: map of ", map_in.size(),
              " pixels for a mask of ", mask.size());
  std::vector<float> m = map_in;
  const auto [lo, hi] = std::minmax_element(m.begin(), m.end());
  const float l = *lo, h = *hi;
  for (float& v : m) v = h > l ? (v - l) / (h - l) : 0.0f;
  double mean = 0;
  for (float v : m) mean += v;
  mean /= double(m.size());
  int64_t tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < m.size(); ++i) {
    const int pred = m[i] > mean ? 1 : 0, truth = mask[i] ? 1 : 0;
    correct += pred == truth;
    tp += pred && truth;
    fp += pred && !truth;
    fn += !pred && truth;
    for (int c = 0; c < 2; ++c) {
      intersection[c] += (pred == c) && (truth == c);
      union_[c] += (pred == c) || (truth == c);
    }
  }
  pixels += static_cast<int64_t>(m.size());
  // scores [1 − map, map] against the one-hot target [1 − mask, mask], both flattened
  std::vector<float> scores(2 * m.size());
  std::vector<uint8_t> labels(2 * m.size());
  for (size_t i = 0; i < m.size(); ++i) {
    scores[i] = 1.0f - m[i], labels[i] = mask[i] ? 0 : 1;
    scores[m.size() + i] = m[i], labels[m.size() + i] = mask[i] ? 1 : 0;
  }
  ap_sum += average_precision(scores, labels);
  f1_sum += (2 * tp + fp + fn) ? double(2 * tp) / double(2 * tp + fp + fn) : 0.0;
  ++images;
}

void SegmentationCounts::merge(const SegmentationCounts& o) {
  correct += o.correct, pixels += o.pixels, ap_sum += o.ap_sum, f1_sum += o.f1_sum, images += o.images;
  for (int c = 0; c < 2; ++c) intersection[c] += o.intersection[c], union_[c] += o.union_[c];
}

double SegmentationCounts::pixel_accuracy() const { return pixels ? double(correct) / double(pixels) : 0.0; }
double SegmentationCounts::miou() const {
  double s = 0;
  for (int c = 0; c < 2; ++c) s += union_[c] ? double(intersection[c]) / double(union_[c]) : 0.0;
  return s / 2;
}
double SegmentationCounts::map() const { return images ? ap_sum / double(images) : 0.0; }
double SegmentationCounts::mf1() const { return images ? f1_sum / double(images) : 0.0; }

}  // namespace ha::xai
