#include "xai/transformer_lrp.h"

#include <algorithm>
#include <cmath>

#include "ops/ops.h"

namespace ha::xai {
namespace {

double total(const Tensor& t) { return sum(t).item(); }

// The released safe_divide on one value: a / (b + 1e-9) where b != 0 (max(b, ε) + min(b, ε) is b + ε), else 0.
double safe_div(double a, double b) {
  constexpr double eps = 1e-9;
  double den = std::max(b, eps) + std::min(b, eps);
  if (den == 0) den = eps;
  return b != 0 ? a / den : 0.0;
}

}  // namespace

Tensor f64(const Tensor& t) { return t.detach().to(Device::cpu()).to(DType::F64).contiguous(); }

Tensor safe_divide(const Tensor& a_in, const Tensor& b_in) {
  const Tensor b = b_in.expand(a_in.shape()).contiguous(), a = a_in.contiguous();
  HATTN_CHECK(a.dtype() == DType::F64 && b.dtype() == DType::F64, "safe_divide: float64 tensors expected");
  Tensor out = Tensor::empty(a.shape(), DType::F64);
  const double *pa = a.data<double>(), *pb = b.data<double>();
  double* po = out.data<double>();
  for (int64_t i = 0; i < a.numel(); ++i) po[i] = safe_div(pa[i], pb[i]);
  return out;
}

Tensor relevance_linear(const Tensor& R, const Tensor& x, const Tensor& weight) {
  const Tensor W = f64(weight);
  const Tensor wp = clamp(W, 0, INFINITY), wn = clamp(W, -INFINITY, 0);
  const Tensor xp = clamp(x, 0, INFINITY), xn = clamp(x, -INFINITY, 0);
  const Tensor S = safe_divide(R, add(linear(xp, wp), linear(xn, wn)));
  return add(mul(xp, matmul(S, wp)), mul(xn, matmul(S, wn)));
}

std::pair<Tensor, Tensor> relevance_add(const Tensor& R, const Tensor& a, const Tensor& b) {
  const Tensor S = safe_divide(R, add(a, b));
  Tensor ra = mul(a, S), rb = mul(b, S);
  const double sa = total(ra), sb = total(rb), r = total(R);
  const double fa = safe_div(std::abs(sa), std::abs(sa) + std::abs(sb)) * r;
  const double fb = safe_div(std::abs(sb), std::abs(sa) + std::abs(sb)) * r;
  ra = mul(ra, safe_div(fa, sa));
  rb = mul(rb, safe_div(fb, sb));
  return {ra, rb};
}

Tensor relevance_fan_out(const Tensor& x, const std::vector<Tensor>& parts) {
  Tensor acc = safe_divide(parts.at(0), x);
  for (size_t i = 1; i < parts.size(); ++i) acc = add(acc, safe_divide(parts[i], x));
  return mul(x, acc);
}

std::pair<Tensor, Tensor> relevance_matmul(const Tensor& R, const Tensor& A, const Tensor& v) {
  const int64_t last = A.dim() - 1;
  const Tensor S = safe_divide(R, matmul(A, v));
  return {mul(mul(A, matmul(S, v.transpose(last - 1, last))), 0.5),
          mul(mul(v, matmul(A.transpose(last - 1, last), S)), 0.5)};
}

std::pair<Tensor, Tensor> relevance_scores(const Tensor& R, const Tensor& q, const Tensor& k) {
  const int64_t last = q.dim() - 1;
  const Tensor S = safe_divide(R, matmul(q, k.transpose(last - 1, last)));
  return {mul(mul(q, matmul(S, k)), 0.5), mul(mul(k, matmul(S.transpose(last - 1, last), q)), 0.5)};
}

}  // namespace ha::xai
