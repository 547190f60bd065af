// Shapes and strides (in elements), and the broadcasting rule.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ha {

using Shape = std::vector<int64_t>;

// Unsigned arithmetic: a hostile shape wraps instead of overflowing; allocation (Tensor::empty) then
// refuses any shape whose true element count does not fit (shape_fits).
inline int64_t numel_of(const Shape& s) {
  uint64_t n = 1;
  for (int64_t d : s) n *= static_cast<uint64_t>(d);
  return static_cast<int64_t>(n);
}

inline bool shape_fits(const Shape& s, uint64_t limit = uint64_t(1) << 48) {
  uint64_t n = 1;
  bool empty = false;
  for (int64_t d : s) {
    if (d < 0) return false;
    if (d == 0) empty = true;
    else if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n) || n > limit) return false;
  }
  return empty || n <= limit;
}

inline Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  uint64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = static_cast<int64_t>(acc);
    acc *= s[i] > 0 ? static_cast<uint64_t>(s[i]) : 1;
  }
  return st;
}

std::string shape_str(const Shape& s);  // "(2, 3, 197)"

// Normalises a possibly negative axis; throws naming `op` when out of range.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);

// NumPy broadcasting of two shapes; throws naming `op` and both shapes when incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace ha
