// Portable SIMD for the CPU kernels: GCC vector extensions sized to the build's widest registers
// (AVX-512, AVX or SSE), and vectorised exp, log1p, softplus and sigmoid. Worst errors against libm over
// their ranges, measured by tests/test_vec_math.cpp (AVX-512 build): vexp 1.0 ulp (subnormal results
// included), vlog1p_unit 4.0, vsoftplus 4.4, vsigmoid 2.4; the test's bounds are 1.5, 4.5, 5 and 3.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#if defined(__AVX512F__) || defined(__FMA__)
#include <immintrin.h>
#endif

#include "ops/scalar_math.h"

namespace ha::cpu {

#if defined(__AVX512F__)
constexpr int kVecBytes = 64;
#elif defined(__AVX__)
constexpr int kVecBytes = 32;
#else
constexpr int kVecBytes = 16;
#endif

typedef float VecF __attribute__((vector_size(kVecBytes)));
typedef int32_t VecI __attribute__((vector_size(kVecBytes)));
constexpr int kLanesF = kVecBytes / 4;

inline VecF load(const float* p) {
  VecF v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, VecF v) { std::memcpy(p, &v, sizeof v); }
inline VecF splat(float x) { return VecF{} + x; }

// a·b + c, rounded once where the instruction set has FMA (else twice). The project builds with
// -ffp-contract=off: whether GCC fuses a·b + c by itself depends on the CPU it tunes for (Zen's tuning avoids
// FMA chains, Intel's does not), which made results differ between CPUs with the same instructions. So every
// fused multiply-add in the kernels is written out here, and results depend on the instruction set alone.
template <class V>
inline V fmadd(V a, V b, V c) {
#if defined(__FMA__) || defined(__AVX512F__)
  using T = std::decay_t<decltype(a[0])>;
  constexpr bool f32 = std::is_same_v<T, float>;
  if constexpr (sizeof(V) == 64) {
#if defined(__AVX512F__)
    if constexpr (f32) return V(_mm512_fmadd_ps(__m512(a), __m512(b), __m512(c)));
    else return V(_mm512_fmadd_pd(__m512d(a), __m512d(b), __m512d(c)));
#endif
  } else if constexpr (sizeof(V) == 32) {
    if constexpr (f32) return V(_mm256_fmadd_ps(__m256(a), __m256(b), __m256(c)));
    else return V(_mm256_fmadd_pd(__m256d(a), __m256d(b), __m256d(c)));
  } else if constexpr (sizeof(V) == 16) {
    if constexpr (f32) return V(_mm_fmadd_ps(__m128(a), __m128(b), __m128(c)));
    else return V(_mm_fmadd_pd(__m128d(a), __m128d(b), __m128d(c)));
  }
#endif
  return a * b + c;
}
inline float fmadd(float a, float b, float c) {
#if defined(__FMA__) || defined(__AVX512F__)
  return std::fma(a, b, c);  // one instruction here; without FMA, std::fma would be a slow library call
#else
  return a * b + c;
#endif
}
inline VecF fmadd(VecF a, float b, VecF c) { return fmadd(a, splat(b), c); }
inline VecF fmadd(VecF a, VecF b, float c) { return fmadd(a, b, splat(c)); }
// Horizontal sum by halving (log2(lanes) vector adds instead of a serial chain over the lanes).
inline float hsum(VecF v) {
  typedef float V4 __attribute__((vector_size(16)));
#if defined(__AVX512F__) || defined(__AVX__)
  typedef float V8 __attribute__((vector_size(32)));
#endif
#if defined(__AVX512F__)
  V8 a, b;
  std::memcpy(&a, &v, 32);
  std::memcpy(&b, reinterpret_cast<const char*>(&v) + 32, 32);
  const V8 s8 = a + b;
#elif defined(__AVX__)
  const V8 s8 = v;
#endif
#if defined(__AVX512F__) || defined(__AVX__)
  V4 c, d;
  std::memcpy(&c, &s8, 16);
  std::memcpy(&d, reinterpret_cast<const char*>(&s8) + 16, 16);
  const V4 s4 = c + d;
#else
  const V4 s4 = v;
#endif
  return (s4[0] + s4[2]) + (s4[1] + s4[3]);
}

namespace detail {
// One level of hsum_rows' tree: vectors x, y hold m segments of 2H lanes each (row sums in progress); the result
// holds 2m segments of H lanes, x's rows first, each lane j the sum of lanes j and j + H of its segment.
template <int H, bool kUpper>
inline VecI tree_mask() {
  VecI m;
  constexpr int M = kLanesF / (2 * H);
  for (int p = 0; p < kLanesF; ++p) {
    const int seg = p / H, off = p % H;
    m[p] = (seg < M ? seg * 2 * H : kLanesF + (seg - M) * 2 * H) + off + (kUpper ? H : 0);
  }
  return m;
}
template <int H>
inline void tree_level(VecF* v, int pairs) {
  const VecI lo = tree_mask<H, false>(), hi = tree_mask<H, true>();  // constants once inlined
  for (int i = 0; i < pairs; ++i) {
#if defined(__clang__)  // no __builtin_shuffle in clang (the fuzzing builds): the same sums, lane by lane
    const VecF a = v[2 * i], b = v[2 * i + 1];
    for (int p = 0; p < kLanesF; ++p)
      v[i][p] = (lo[p] < kLanesF ? a[lo[p]] : b[lo[p] - kLanesF]) + (hi[p] < kLanesF ? a[hi[p]] : b[hi[p] - kLanesF]);
#else
    v[i] = __builtin_shuffle(v[2 * i], v[2 * i + 1], lo) + __builtin_shuffle(v[2 * i], v[2 * i + 1], hi);
#endif
  }
  if constexpr (H > 1) tree_level<H / 2>(v, pairs / 2);
}
}  // namespace detail

// out[i] = hsum(v[i]) for i < n, bit for bit: lanes-many vectors at a time through a transpose-and-add tree that
// adds the same pairs in the same order as hsum, with about a third of its shuffles per sum.
inline void hsum_rows(const VecF* v, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + kLanesF <= n; i += kLanesF) {
    VecF block[kLanesF];
    std::memcpy(block, v + i, sizeof block);
    detail::tree_level<kLanesF / 2>(block, kLanesF / 2);
    std::memcpy(out + i, &block[0], sizeof(VecF));
  }
  for (; i < n; ++i) out[i] = hsum(v[i]);
}

// e^x = 2^n · e^r with n = round(x / ln 2), r = x − n ln 2 (ln 2 split hi/lo), e^r = 1 + r + r² P(r) with
// P the degree-5 minimax fit on [−ln2/2, ln2/2] (Cephes' expf coefficients): 1.0 ulp worst over the float
// range, against 2.7 ulp for the Taylor polynomial of the same degree (tests/test_vec_math.cpp).
inline VecF exp_poly(VecF r) {
  VecF p = splat(1.9875691500e-4f);
  p = fmadd(p, r, 1.3981999507e-3f);
  p = fmadd(p, r, 8.3334519073e-3f);
  p = fmadd(p, r, 4.1665795894e-2f);
  p = fmadd(p, r, 1.6666665459e-1f);
  p = fmadd(p, r, 5.0000001201e-1f);
  return fmadd(p * r, r, r) + 1.f;
}

// r = x − n ln 2 with ln 2 split in a part exact in float and the rest (Cody and Waite).
inline VecF exp_reduce(VecF x, VecF n) { return fmadd(n, 2.12194440e-4f, fmadd(n, splat(-0.693359375f), x)); }

#if defined(__AVX512F__)
// AVX-512: round and scale in one instruction each; vscalefps gives 0 (through the denormals) below
// −103 and +inf above 88.7 by itself, so no clamping (about half the instructions of the portable path).
// The all-ones-mask forms avoid GCC's "uninitialised" warning about the unmasked intrinsics' undefined source.
inline VecF vexp(VecF x) {
  const __m512 fn = _mm512_maskz_roundscale_ps(0xFFFF, __m512(x * 1.44269504088896341f),
                                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  return VecF(_mm512_maskz_scalef_ps(0xFFFF, __m512(exp_poly(exp_reduce(x, VecF(fn)))), fn));
}
#else
// Portable: 2^n is applied as two normal factors 2^h · 2^(n−h), h = n / 2, so that results between −103 and
// −87.3 come out as the subnormals they are and x > 88.7 gives +inf, as the AVX-512 path does.
inline VecF vexp(VecF x) {
  const VecF lo = splat(-104.f), hi = splat(89.f);
  x = x < lo ? lo : x;
  x = x > hi ? hi : x;
  const VecF t = fmadd(x, 1.44269504088896341f, splat(0.5f));
  VecI n = __builtin_convertvector(t, VecI);
  n += (t < __builtin_convertvector(n, VecF));  // truncation -> floor (mask is -1 where t < trunc(t))
  const VecF fn = __builtin_convertvector(n, VecF);
  const VecF r = exp_reduce(x, fn);
  const VecI h = n >> 1;
  const VecI bits_h = (h + 127) << 23, bits_rest = (n - h + 127) << 23;
  VecF scale_h, scale_rest;
  std::memcpy(&scale_h, &bits_h, sizeof scale_h);
  std::memcpy(&scale_rest, &bits_rest, sizeof scale_rest);
  return exp_poly(r) * scale_h * scale_rest;
}
#endif

// log1p(w) for w in [0, 1] to a few ulp: u = 1 + w rounded, log(u) by the atanh series in s = f / (2 + f)
// (|s| <= 0.172 after halving u > sqrt 2, five terms), then scaled by w / (u - 1) (Goldberg), which cancels
// the rounding of 1 + w, so tiny w keep full relative accuracy.
inline VecF vlog1p_unit(VecF w) {
  const VecF u = w + 1.f;
  const auto halve = u > 1.41421356f;
  const VecF f = (halve ? 0.5f * u : u) - 1.f;  // exact
  const VecF s = f / (f + 2.f), s2 = s * s;
  VecF p = splat(1.f / 9);
  p = fmadd(p, s2, 1.f / 7);
  p = fmadd(p, s2, 1.f / 5);
  p = fmadd(p, s2, 1.f / 3);
  p = fmadd(p, s2, 1.f);
  const VecF log_u = fmadd(2.f * s, p, halve ? splat(0.693147181f) : VecF{});
  const VecF um1 = u - 1.f;
  return um1 == 0.f ? w : log_u * (w / (um1 == 0.f ? splat(1.f) : um1));
}

// softplus with PyTorch's threshold: x > 20 ? x : log(1 + e^x), computed as max(x, 0) + log1p(e^-|x|).
inline VecF vsoftplus(VecF x) {
  const VecF ax = x < 0.f ? -x : x;
  const VecF pos = x > 0.f ? x : VecF{};
  const VecF sp = pos + vlog1p_unit(vexp(-ax));
  return x > scalar::kSoftplusThreshold ? x : sp;
}

inline VecF vsigmoid(VecF x) { return 1.f / (1.f + vexp(-x)); }

// y[i] = f(x[i]) over n floats, a vector at a time; the tail goes through a zero-padded vector.
template <class F>
inline void map_array(const float* x, float* y, int64_t n, F f) {
  int64_t i = 0;
  for (; i + kLanesF <= n; i += kLanesF) store(y + i, f(load(x + i)));
  if (i < n) {
    float buf[kLanesF] = {};
    std::memcpy(buf, x + i, sizeof(float) * (n - i));
    store(buf, f(load(buf)));
    std::memcpy(y + i, buf, sizeof(float) * (n - i));
  }
}

// y[i] = f(x1[i], x2[i]), likewise.
template <class F>
inline void zip_array(const float* x1, const float* x2, float* y, int64_t n, F f) {
  int64_t i = 0;
  for (; i + kLanesF <= n; i += kLanesF) store(y + i, f(load(x1 + i), load(x2 + i)));
  if (i < n) {
    float b1[kLanesF] = {}, b2[kLanesF] = {};
    std::memcpy(b1, x1 + i, sizeof(float) * (n - i));
    std::memcpy(b2, x2 + i, sizeof(float) * (n - i));
    store(b1, f(load(b1), load(b2)));
    std::memcpy(y + i, b1, sizeof(float) * (n - i));
  }
}

}  // namespace ha::cpu
