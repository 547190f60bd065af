#include "tensor/random.h"

#include <cmath>

namespace ha {

static uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void Generator::seed_(uint64_t seed) {
  uint64_t x = seed;
  for (auto& s : s_) s = splitmix64(x);
  has_spare_ = false;
}

uint64_t Generator::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Generator::uniform() { return (next_u64() >> 11) * 0x1.0p-53; }

double Generator::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u1 = uniform(), u2 = uniform();
  if (u1 < 1e-300) u1 = 1e-300;
  double r = std::sqrt(-2.0 * std::log(u1));
  spare_ = r * std::sin(2 * M_PI * u2);
  has_spare_ = true;
  return r * std::cos(2 * M_PI * u2);
}

Generator& default_generator() {
  static Generator g(0);
  return g;
}

void manual_seed(uint64_t seed) { default_generator().seed_(seed); }

template <class Draw>
static Tensor generate(const Shape& shape, DType dtype, const char* op, Draw draw) {
  Tensor t = Tensor::empty(shape, dtype);
  dispatch_floating(dtype, op, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(draw());
  });
  return t;
}

Tensor rand(const Shape& shape, DType dtype, Generator& gen) {
  return generate(shape, dtype, "rand", [&] { return gen.uniform(); });
}

Tensor randn(const Shape& shape, DType dtype, Generator& gen) {
  return generate(shape, dtype, "randn", [&] { return gen.normal(); });
}

Tensor uniform(const Shape& shape, double lo, double hi, DType dtype, Generator& gen) {
  HATTN_CHECK(lo <= hi, "uniform: lo ", lo, " > hi ", hi);
  return generate(shape, dtype, "uniform", [&] { return lo + (hi - lo) * gen.uniform(); });
}

Tensor randint(const Shape& shape, int64_t lo, int64_t hi, Generator& gen) {
  HATTN_CHECK(lo < hi, "randint: empty range [", lo, ", ", hi, ")");
  Tensor t = Tensor::empty(shape, DType::I64);
  int64_t* p = t.data<int64_t>();
  const uint64_t span = static_cast<uint64_t>(hi - lo);
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = lo + static_cast<int64_t>(gen.next_u64() % span);
  return t;
}

}  // namespace ha
