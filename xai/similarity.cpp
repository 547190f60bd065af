#include "xai/similarity.h"

#include <cmath>

#include "ops/ops.h"

namespace ha::xai {

double mean_pairwise_cosine(const Tensor& X_in) {
  HATTN_CHECK(X_in.dim() == 2 && X_in.size(0) >= 2, "mean_pairwise_cosine: expects (T >= 2, D), got ", describe(X_in));
  const Tensor X = X_in.to(Device::cpu()).to(DType::F64).contiguous();
  const int64_t T = X.size(0), D = X.size(1);
  // Σ_{i≠j} cos = |Σ_i u_i|² − Σ_i |u_i|² with u_i the unit rows: O(T·D) instead of O(T²·D)
  std::vector<double> total(D, 0.0);
  double self = 0;
  const double* x = X.data<double>();
  for (int64_t i = 0; i < T; ++i) {
    double n2 = 0;
    for (int64_t d = 0; d < D; ++d) n2 += x[i * D + d] * x[i * D + d];
    const double inv = n2 > 0 ? 1.0 / std::sqrt(n2) : 0.0;  // a zero token is similar to nothing
    for (int64_t d = 0; d < D; ++d) total[d] += x[i * D + d] * inv;
    self += n2 > 0 ? 1.0 : 0.0;
  }
  double all = 0;
  for (double t : total) all += t * t;
  return (all - self) / (double(T) * double(T - 1));
}

std::vector<double> stream_similarity(const std::vector<Tensor>& streams) {
  std::vector<double> out;
  for (const Tensor& s : streams) out.push_back(mean_pairwise_cosine(s.detach().select(0, 0)));
  return out;
}

}  // namespace ha::xai
