// Oversmoothing's measure (xai/similarity.h): by hand on three tokens, and against the O(T²) definition.
#include <gtest/gtest.h>

#include <cmath>

#include "tensor/random.h"
#include "tests/test_util.h"
#include "xai/similarity.h"

namespace ha::test {
namespace {

TEST(Similarity, ByHandAndByDefinition) {
  // cos(e1, e2) = 0, cos(e1, e1 + e2) = cos(e2, e1 + e2) = 1/√2: ordered pairs 2·(0 + 2/√2) over 6
  const Tensor X = Tensor::from_vector(std::vector<double>{1, 0, 0, 1, 1, 1}, {3, 2});
  EXPECT_NEAR(xai::mean_pairwise_cosine(X), 2 * std::sqrt(2.0) / 6, 1e-15);
  Generator g(3);
  const Tensor Y = randn({17, 5}, DType::F64, g);
  const std::vector<double> y = Y.to_vector<double>();
  double sum = 0;
  for (int i = 0; i < 17; ++i)
    for (int j = 0; j < 17; ++j) {
      if (i == j) continue;
      double dot = 0, ni = 0, nj = 0;
      for (int d = 0; d < 5; ++d) dot += y[i * 5 + d] * y[j * 5 + d], ni += y[i * 5 + d] * y[i * 5 + d], nj += y[j * 5 + d] * y[j * 5 + d];
      sum += dot / std::sqrt(ni * nj);
    }
  EXPECT_NEAR(xai::mean_pairwise_cosine(Y), sum / (17 * 16), 1e-12);
  EXPECT_NEAR(xai::mean_pairwise_cosine(Tensor::ones({4, 3}, DType::F64)), 1.0, 1e-15);  // identical tokens
}

}  // namespace
}  // namespace ha::test
