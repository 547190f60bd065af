// Portable SIMD for the CPU kernels: GCC vector extensions sized to the build's widest registers
// (AVX-512, AVX or SSE), and a vectorised expf. vexp is accurate to ~2 ulp over the float range (range
// reduction by ln 2, degree-6 polynomial, exponent by bit assembly); inputs below -87.3 give 0-ish normals,
// never denormal slow paths.
#pragma once
#include <cstdint>
#include <cstring>

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

inline VecF vexp(VecF x) {
  const VecF lo = splat(-87.3f), hi = splat(88.3f);
  x = x < lo ? lo : x;
  x = x > hi ? hi : x;
  const VecF t = x * 1.44269504088896341f + 0.5f;
  VecI n = __builtin_convertvector(t, VecI);
  n += (t < __builtin_convertvector(n, VecF));  // truncation -> floor (mask is -1 where t < trunc(t))
  const VecF fn = __builtin_convertvector(n, VecF);
  const VecF r = x - fn * 0.693359375f + fn * 2.12194440e-4f;  // x - n ln2, ln2 split hi/lo
  VecF p = splat(1.f / 720);
  p = p * r + 1.f / 120;
  p = p * r + 1.f / 24;
  p = p * r + 1.f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.f;
  p = p * r + 1.f;
  const VecI bits = (n + 127) << 23;
  VecF scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

}  // namespace ha::cpu
