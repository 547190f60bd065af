// How far a rollout may move when its inputs move: the exact variant's rollout multiplies (I + X_l), each row
// divided by its sum, over many layers, and a row whose signed sum nearly cancels amplifies any rounding in X_l.
// A fixed tolerance on the map is then right on one CPU and wrong on another (different FMA contraction or exp
// rounding moves X_l by a few ulp). Instead the map is compared against a first-order bound computed in float64
// from the matrices themselves:
//   |δ row_q(J)| <= Σ_l |row_q(M_last ··· M_{l+1})| · |δM_l| · |M_{l-1} ··· M_first|      (telescoping, entry-wise)
//   |δM_l[i,j]|  <= (|δX_l[i,j]| + |M_l[i,j]| Σ_k |δX_l[i,k]|) / (|s_i| − Σ_k |δX_l[i,k]|)  (M = (I + X) / s)
// with |δX_l| the accuracy the inputs are held to. A row whose sum could move by a quarter of itself is outside
// first order: it gets an infinite bound (the map is not determined there, whatever machine computes it).
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/test_util.h"
#include "xai/explain.h"
#include "xai/explainable.h"

namespace ha::test {

// Per token, the bound on |δ row(J)| when every X_l (L, L) moves by at most dX_l (L, L) entry-wise.
inline std::vector<double> rollout_perturbation_bound(const std::vector<Tensor>& X, int64_t row,
                                                      const std::vector<Tensor>& dX) {
  const size_t layers = X.size();
  const int64_t L = X[0].size(0);
  std::vector<std::vector<double>> M(layers), dM(layers);
  for (size_t l = 0; l < layers; ++l) {  // M_l as xai::rollout forms it, and the bound on its perturbation
    M[l] = X[l].to_vector<double>();
    dM[l] = dX[l].to_vector<double>();
    for (int64_t i = 0; i < L; ++i) {
      double* m = &M[l][i * L];
      double* d = &dM[l][i * L];
      m[i] += 1.0;
      double s = 0, ds = 0;  // the row sum and the bound on its perturbation
      for (int64_t j = 0; j < L; ++j) s += m[j], ds += d[j];
      if (s == 0 || !std::isfinite(s)) {  // left unnormalised, but a perturbed sum would normalise it: a jump
        if (ds > 0) std::fill(d, d + L, INFINITY);
        continue;
      }
      for (int64_t j = 0; j < L; ++j) m[j] /= s;
      // |M' − M| <= (|δX| + |M| Σ|δX|) / (|s| − Σ|δX|), exactly, for the row; a row whose sum may move by a quarter
      // of itself is outside first order
      const bool first_order = ds < 0.25 * std::abs(s);
      for (int64_t j = 0; j < L; ++j)
        d[j] = first_order ? (d[j] + std::abs(m[j]) * ds) / (std::abs(s) - ds) : INFINITY;
    }
  }
  // left[l] = |e_row^T M_last ··· M_{l+1}|, built from the top
  std::vector<std::vector<double>> left(layers);
  std::vector<double> r(L, 0.0), next(L);
  r[row] = 1.0;
  for (size_t l = layers; l-- > 0;) {
    left[l].resize(L);
    for (int64_t i = 0; i < L; ++i) left[l][i] = std::abs(r[i]);
    std::fill(next.begin(), next.end(), 0.0);
    for (int64_t i = 0; i < L; ++i)
      if (r[i] != 0)
        for (int64_t j = 0; j < L; ++j) next[j] += r[i] * M[l][i * L + j];
    r.swap(next);
  }
  // right = M_{l-1} ··· M_first, built from the bottom; bound += (left[l] · |δM_l|) · |right|
  std::vector<double> right(L * L, 0.0), product(L * L), bound(L, 0.0), w(L);
  for (int64_t i = 0; i < L; ++i) right[i * L + i] = 1.0;
  for (size_t l = 0; l < layers; ++l) {
    std::fill(w.begin(), w.end(), 0.0);
    for (int64_t i = 0; i < L; ++i)
      if (left[l][i] != 0)
        for (int64_t k = 0; k < L; ++k) w[k] += left[l][i] * dM[l][i * L + k];
    for (int64_t k = 0; k < L; ++k)
      if (w[k] != 0)
        for (int64_t j = 0; j < L; ++j) bound[j] += w[k] * std::abs(right[k * L + j]);
    std::fill(product.begin(), product.end(), 0.0);  // right <- M_l · right
    for (int64_t i = 0; i < L; ++i)
      for (int64_t k = 0; k < L; ++k) {
        const double a = M[l][i * L + k];
        if (a != 0)
          for (int64_t j = 0; j < L; ++j) product[i * L + j] += a * right[k * L + j];
      }
    right.swap(product);
  }
  for (double& b : bound)
    if (std::isnan(b)) b = INFINITY;  // an infinite |δM| entry met a zero of |right|: still outside first order
  return bound;
}

inline void expect_map_within_bound(const Tensor& got, const Tensor& ref, const std::vector<double>& tokens,
                                    const xai::FamilyInfo& family, const std::string& what);

// The exact rollout map `got` against `ref` (both G×G, as xai::explain returns them) for the model and image
// of `ctx`: each patch within twice the first-order bound (the factor 2 covers the second-order terms) plus the
// float32 rounding of the map, with |δX_l| <= input_tol.rtol · mean over channels of |F_l| + input_tol.atol ·
// max |F_l|, entry-wise (each channel's entry held to rtol of its size plus atol of the layer's largest entry,
// so their mean is too). Every patch must be within first order: a bound
// that gives up would make the test one that cannot fail. Prints the worst ratio either way.
// With `other` (the context `got` came from, e.g. the same model on another device), its X_l are first checked
// against the same entry-wise bound: the premise of the map's bound, and well-conditioned itself.
inline void expect_rollout_within_bound(const Tensor& got, const Tensor& ref, const xai::Trace& ctx,
                                        const xai::FamilyInfo& family, Tolerance input_tol, const std::string& what,
                                        const xai::Trace* other = nullptr, const xai::ExplainOptions& o = {}) {
  const int64_t layers = static_cast<int64_t>(ctx.mixers.size());
  const int64_t start = o.start_layer < 0 ? family.default_start_layer : o.start_layer;
  const int64_t row = o.query >= 0 ? o.query : ctx.query;
  std::vector<Tensor> X, dX;
  for (int64_t l = start; l < layers; ++l) {
    const xai::MixerStats& s = ctx.mixers[l]->stats();
    X.push_back(s.mean.to(DType::F64));
    // mean over channels of |F| = 2 max(F, 0) - F
    const Tensor mean_abs = sub(mul(s.mean_relu.to(DType::F64), 2.0), X.back());
    const double max_abs = std::max(std::abs(s.min), std::abs(s.max));
    dX.push_back(add(mul(mean_abs, input_tol.rtol), input_tol.atol * max_abs));
    if (other) {
      const Tensor theirs = other->mixers[l]->stats().mean.to(DType::F64);
      const Tensor excess = div(abs(sub(theirs, X.back())), add(dX.back(), 1e-30));
      const double worst = amax(excess).item();
      std::cout << "  [" << what << "] layer " << l << " rollout input: worst |δX| / bound " << worst << "\n";
      EXPECT_LE(worst, 1.0) << what << ": layer " << l << "'s channel-mean matrix is outside its tolerance";
    }
  }
  expect_map_within_bound(got, ref, rollout_perturbation_bound(X, row, dX), family, what);
}

// A map `got` against `ref` (both as xai::explain returns them), each patch within twice its token's first-order
// bound (`tokens`, from rollout_perturbation_bound; the factor 2 covers the second-order terms) plus the float32
// rounding of the map. Every patch must be within first order. Prints the worst ratio.
inline void expect_map_within_bound(const Tensor& got, const Tensor& ref, const std::vector<double>& tokens,
                                    const xai::FamilyInfo& family, const std::string& what) {
  std::vector<double> patches;  // the map's cells
  for (int64_t t : family.layout.patch_tokens) patches.push_back(tokens[t]);
  ASSERT_EQ(got.shape(), ref.shape()) << what;
  const std::vector<double> a = got.to_vector<double>(), b = ref.to_vector<double>();
  ASSERT_EQ(a.size(), patches.size()) << what;
  double peak = 0;
  for (double v : b) peak = std::max(peak, std::abs(v));
  const double rounding = 4 * std::ldexp(peak, -24);
  double worst = 0, worst_bound = 0, max_err = 0;
  int64_t worst_at = 0, unbounded = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double err = std::abs(a[i] - b[i]), allowed = 2 * patches[i] + rounding;
    unbounded += std::isinf(allowed);
    max_err = std::max(max_err, err);
    if (err / allowed > worst || std::isnan(err)) {
      worst = std::isnan(err) ? INFINITY : err / allowed;
      worst_bound = allowed;
      worst_at = static_cast<int64_t>(i);
    }
  }
  std::cout << "  [" << what << "] max|err| " << max_err << " (max|ref| " << peak << "), worst err/bound " << worst
            << " at " << worst_at << " (bound " << worst_bound << "), " << unbounded << " patches beyond first order\n";
  EXPECT_EQ(unbounded, 0) << what << ": the rollout is too ill-conditioned for its inputs' tolerance to bound it";
  EXPECT_LE(worst, 1.0) << what << ": patch " << worst_at << " is " << a[worst_at] << " vs " << b[worst_at]
                        << ", beyond the rollout's conditioning bound " << worst_bound;
}

}  // namespace ha::test
