// The vectorised float math of ops/cpu/vec.h (vexp, vlog1p_unit, vsoftplus, vsigmoid) swept against libm in
// double precision, in ulps of the float result. Which path runs depends on the build: AVX-512 with
// -march=native on these machines, the portable vector-extension path in the sanitizer build (no -march).
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <vector>

#include "ops/cpu/vec.h"
#include "ops/scalar_math.h"

namespace ha::test {
namespace {

using cpu::VecF;

// Distance of y from the exact value in units of the float spacing at the exact value. Results in the
// subnormal range are measured in units of the smallest subnormal (absolute, as their precision is).
double ulps(float y, double exact) {
  if (std::isnan(y) || std::isnan(exact)) return std::isnan(y) == std::isnan(exact) ? 0 : INFINITY;
  if (std::isinf(exact) || std::isinf(y)) return y == exact ? 0 : INFINITY;
  const double a = std::abs(exact);
  const double spacing = a < FLT_MIN ? std::ldexp(1.0, -149) : std::ldexp(1.0, std::ilogb(a) - 23);
  return std::abs(double(y) - exact) / spacing;
}

struct Sweep {
  double worst_ulps = 0, worst_x = 0;
};

// n evenly spaced inputs in [lo, hi] plus their float neighbours, a vector at a time.
Sweep sweep(float lo, float hi, int64_t n, const std::function<VecF(VecF)>& f, const std::function<double(double)>& ref) {
  constexpr int kLanes = sizeof(VecF) / sizeof(float);
  std::vector<float> xs;
  for (int64_t i = 0; i <= n; ++i) {
    const float x = static_cast<float>(lo + (double(hi) - lo) * i / n);
    xs.push_back(x);
    xs.push_back(std::nextafter(x, hi));
  }
  while (xs.size() % kLanes) xs.push_back(hi);
  Sweep s;
  for (size_t i = 0; i < xs.size(); i += kLanes) {
    float out[kLanes];
    cpu::store(out, f(cpu::load(&xs[i])));
    for (int k = 0; k < kLanes; ++k) {
      const double u = ulps(out[k], ref(double(xs[i + k])));
      if (u > s.worst_ulps) s.worst_ulps = u, s.worst_x = xs[i + k];
    }
  }
  return s;
}

void report(const char* name, const Sweep& s, double bound) {
  std::printf("  [%s] worst %.2f ulp at x = %.9g (bound %.1f)\n", name, s.worst_ulps, s.worst_x, bound);
  EXPECT_LE(s.worst_ulps, bound) << name << " at x = " << s.worst_x;
}

constexpr int64_t kPoints = 400000;

TEST(VecMath, ExpOverTheWholeFloatRange) {
  // e^x is a normal float on [-87.3, 88.7]; below, subnormal results are checked absolutely; above, +inf.
  report("vexp normal", sweep(-87.3f, 88.7f, kPoints, cpu::vexp, [](double x) { return std::exp(x); }), 1.5);
  report("vexp near 0", sweep(-1.f, 1.f, kPoints, cpu::vexp, [](double x) { return std::exp(x); }), 1.5);
  report("vexp subnormal", sweep(-103.f, -87.4f, kPoints / 10, cpu::vexp, [](double x) { return std::exp(x); }), 1.5);
  float big[sizeof(VecF) / sizeof(float)];
  cpu::store(big, cpu::vexp(cpu::splat(89.f)));
  EXPECT_TRUE(std::isinf(big[0]) && big[0] > 0);
  cpu::store(big, cpu::vexp(cpu::splat(-110.f)));
  EXPECT_EQ(big[0], 0.f);
}

TEST(VecMath, Log1pOnTheUnitInterval) {
  report("vlog1p_unit", sweep(0.f, 1.f, kPoints, cpu::vlog1p_unit, [](double w) { return std::log1p(w); }), 4.5);
  report("vlog1p_unit tiny", sweep(0.f, 1e-6f, kPoints / 10, cpu::vlog1p_unit, [](double w) { return std::log1p(w); }),
         4.5);
}

TEST(VecMath, SoftplusAndSigmoid) {
  auto softplus = [](double x) { return x > scalar::kSoftplusThreshold ? x : std::log1p(std::exp(x)); };
  report("vsoftplus", sweep(-80.f, 40.f, kPoints, cpu::vsoftplus, softplus), 5.0);
  report("vsoftplus near 0", sweep(-2.f, 2.f, kPoints, cpu::vsoftplus, softplus), 5.0);
  auto sigmoid = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
  report("vsigmoid", sweep(-80.f, 80.f, kPoints, cpu::vsigmoid, sigmoid), 3.0);
  // above the threshold softplus is x itself, bit for bit (PyTorch's definition)
  float out[sizeof(VecF) / sizeof(float)];
  cpu::store(out, cpu::vsoftplus(cpu::splat(20.5f)));
  EXPECT_EQ(out[0], 20.5f);
}

// The batched horizontal sums equal hsum bit for bit (same pairs, same order), whole blocks and the tail.
TEST(VecMath, HsumRowsEqualsHsum) {
  uint32_t state = 12345;
  auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return (static_cast<float>(state >> 8) / 16777216.0f - 0.5f) * std::ldexp(1.0f, static_cast<int>(state % 40) - 20);
  };
  for (int64_t n : {int64_t(0), int64_t(1), int64_t(cpu::kLanesF - 1), int64_t(cpu::kLanesF), int64_t(3 * cpu::kLanesF + 5)}) {
    std::vector<cpu::VecF> v(n);
    for (cpu::VecF& x : v)
      for (int j = 0; j < cpu::kLanesF; ++j) x[j] = next();
    std::vector<float> got(n + 1, -1.0f);
    cpu::hsum_rows(v.data(), n, got.data());
    for (int64_t i = 0; i < n; ++i) {
      const float want = cpu::hsum(v[i]);
      EXPECT_EQ(std::memcmp(&got[i], &want, sizeof want), 0) << "n " << n << " row " << i << ": " << got[i] << " vs " << want;
    }
    EXPECT_EQ(got[n], -1.0f) << "wrote past the end, n " << n;
  }
}

}  // namespace
}  // namespace ha::test
