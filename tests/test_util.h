// Shared test helpers: closeness with a named tolerance (printing the error even on pass) and the
// float64 central-difference gradient check.
#pragma once
#include <gtest/gtest.h>

#include <cstring>

#include <cmath>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "ops/ops.h"
#include "tensor/random.h"
#include "tests/tolerances.h"

namespace ha::test {

// The message of the ha::Error that f throws, or "" when it throws none.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

struct Closeness {
  double max_abs = 0, worst_ratio = 0;  // worst_ratio: max |a-b| / (atol + rtol |ref|); pass iff <= 1
  int64_t worst_index = -1;
  double worst_a = 0, worst_ref = 0;
};

inline Closeness compare(const Tensor& a, const Tensor& ref, Tolerance tol) {
  std::vector<double> va = a.to_vector<double>(), vr = ref.to_vector<double>();
  Closeness c;
  for (size_t i = 0; i < va.size(); ++i) {
    double err = std::abs(va[i] - vr[i]);
    double bound = tol.atol + tol.rtol * std::abs(vr[i]);
    double ratio = bound > 0 ? err / bound : (err > 0 ? INFINITY : 0);
    if (std::isnan(va[i]) != std::isnan(vr[i])) ratio = INFINITY;
    c.max_abs = std::max(c.max_abs, err);
    if (ratio > c.worst_ratio || c.worst_index < 0) {
      c.worst_ratio = ratio;
      c.worst_index = static_cast<int64_t>(i);
      c.worst_a = va[i];
      c.worst_ref = vr[i];
    }
  }
  return c;
}

// EXPECT-style: shapes equal and every element within the named tolerance; prints the error either way.
inline void expect_close(const Tensor& a, const Tensor& ref, const std::string& tol_name, const std::string& what) {
  ASSERT_EQ(a.shape(), ref.shape()) << what;
  Tolerance tol = tolerance(tol_name);
  Closeness c = compare(a, ref, tol);
  std::cout << "  [" << what << "] max|err| " << c.max_abs << "  worst err/bound " << c.worst_ratio << "  ("
            << tol_name << ": atol " << tol.atol << ", rtol " << tol.rtol << ")\n";
  EXPECT_LE(c.worst_ratio, 1.0) << what << ": element " << c.worst_index << " is " << c.worst_a << ", reference "
                                << c.worst_ref;
}

// Like expect_close, with the named atol taken as a fraction of max|ref| (for whole-model parity, where
// float32 rounding errors scale with the tensor's largest terms, not with each tiny element). So that small
// entries are checked too, every element must also satisfy its own bound,
//   |err_i| <= 1% of |ref_i| + 1% of (atol · max|ref|),
// 100 times tighter than the scaled bound for small entries: a wrong sign or a 2x error in an entry at 1e-4 of
// the scale fails. (Measured on the model tests: relative errors stay below 1e-2 down to entries at 1e-6 of
// the scale.)
inline void expect_close_scaled(const Tensor& a, const Tensor& ref, const std::string& tol_name, const std::string& what) {
  ASSERT_EQ(a.shape(), ref.shape()) << what;
  Tolerance t = tolerance(tol_name);
  double scale = 0;
  for (double v : ref.to_vector<double>()) scale = std::max(scale, std::abs(v));
  Tolerance abs_tol{t.atol * scale, t.rtol};
  Closeness c = compare(a, ref, abs_tol);
  Closeness e = compare(a, ref, Tolerance{0.01 * t.atol * scale, std::max(t.rtol, 0.01)});
  std::cout << "  [" << what << "] max|err|/max|ref| " << (scale > 0 ? c.max_abs / scale : c.max_abs)
            << "  (" << tol_name << ": " << t.atol << " of max|ref| = " << scale << "); element-wise worst err/bound "
            << e.worst_ratio << "\n";
  EXPECT_LE(c.worst_ratio, 1.0) << what << ": element " << c.worst_index << " is " << c.worst_a << ", reference "
                                << c.worst_ref;
  EXPECT_LE(e.worst_ratio, 1.0) << what << ": element " << e.worst_index << " is " << e.worst_a << ", reference "
                                << e.worst_ref << " (element-wise bound: 1% of it + 1% of atol · max|ref|)";
}

inline void expect_bitwise_equal(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  for (size_t i = 0; i < va.size(); ++i)  // bit patterns, so identical NaNs compare equal
    ASSERT_TRUE(std::memcmp(&va[i], &vb[i], sizeof(double)) == 0) << what << " at " << i << ": " << va[i] << " vs " << vb[i];
}

// Central differences on a float64 function of several inputs. The scalar tested is sum(f(x) * R) with a
// fixed random R, so every output element is weighed. At most `max_probes` entries per input are probed
// (seeded random choice) to keep long sequences affordable.
inline void gradcheck(const std::string& name, std::vector<Tensor> inputs,
                      const std::function<Tensor(const std::vector<Tensor>&)>& f, int max_probes = 48) {
  for (Tensor& x : inputs)
    if (x.defined()) x.requires_grad_(true);
  Tensor out = f(inputs);
  Generator gen(1234);
  Tensor R = randn(out.shape(), DType::F64, gen);
  Tensor loss = sum(mul(out, R));
  loss.backward();
  const double eps = 1e-6;
  Tolerance tol = tolerance("gradcheck." + name);
  double worst = 0, max_err = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor& x = inputs[i];
    if (!x.defined()) continue;
    Tensor g = x.grad();
    ASSERT_TRUE(g.defined()) << name << ": input " << i << " got no gradient";
    ASSERT_EQ(g.shape(), x.shape()) << name << ": input " << i;
    const int64_t n = x.numel();
    std::vector<int64_t> probes;
    if (n <= max_probes) {
      for (int64_t k = 0; k < n; ++k) probes.push_back(k);
    } else {
      for (int k = 0; k < max_probes; ++k) probes.push_back(static_cast<int64_t>(gen.next_u64() % n));
    }
    Tensor xc = x.detach();
    ASSERT_TRUE(xc.is_contiguous());
    double* px = xc.data<double>();
    std::vector<double> ga = g.to_vector<double>();
    for (int64_t k : probes) {
      const double keep = px[k];
      NoGradGuard ng;
      px[k] = keep + eps;
      double up = sum(mul(f(inputs), R)).item();
      px[k] = keep - eps;
      double down = sum(mul(f(inputs), R)).item();
      px[k] = keep;
      double numeric = (up - down) / (2 * eps);
      double err = std::abs(ga[k] - numeric);
      double ratio = err / (tol.atol + tol.rtol * std::abs(numeric));
      max_err = std::max(max_err, err);
      worst = std::max(worst, ratio);
      EXPECT_LE(ratio, 1.0) << name << ": input " << i << " element " << k << ": analytic " << ga[k]
                            << ", numeric " << numeric;
    }
  }
  std::cout << "  [gradcheck " << name << "] max|analytic - numeric| " << max_err << "  worst err/bound " << worst
            << "  (atol " << tol.atol << ", rtol " << tol.rtol << ")\n";
}

}  // namespace ha::test
