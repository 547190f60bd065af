// Seeded, reproducible random tensors. Values depend only on the seed and the call sequence, never on
// the thread count. The generator is xoshiro256** seeded through splitmix64.
#pragma once
#include <cstdint>

#include "tensor/tensor.h"

namespace ha {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) { seed_(seed); }
  void seed_(uint64_t seed);
  uint64_t next_u64();
  double uniform();  // [0, 1)
  double normal();   // standard normal (Box-Muller, both values used)

 private:
  uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0;
};

Generator& default_generator();
void manual_seed(uint64_t seed);

Tensor rand(const Shape& shape, DType dtype = DType::F32, Generator& gen = default_generator());   // U[0,1)
Tensor randn(const Shape& shape, DType dtype = DType::F32, Generator& gen = default_generator());  // N(0,1)
Tensor uniform(const Shape& shape, double lo, double hi, DType dtype = DType::F32,
               Generator& gen = default_generator());
Tensor randint(const Shape& shape, int64_t lo, int64_t hi, Generator& gen = default_generator());  // int64 [lo,hi)

}  // namespace ha
