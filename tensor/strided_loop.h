// Iterates K operands that share one shape but have their own strides. Dimensions that are contiguous
// in every operand are merged first, so a contiguous tensor is one long inner loop.
//   f(offsets, n, inner_strides): process n elements starting at offsets[k], stepping inner_strides[k].
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "tensor/shape.h"

namespace ha {

template <size_t K, class F>
void strided_loop(const Shape& shape, const std::array<const Shape*, K>& strides,
                  const std::array<int64_t, K>& base, F&& f) {
  // Collapse: drop size-1 dims, merge i into i+1 when every operand has stride[i] == stride[i+1]*size[i+1].
  std::vector<int64_t> sz;
  std::array<std::vector<int64_t>, K> st;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (shape[d] == 0) return;
    bool merge = !sz.empty();
    for (size_t k = 0; k < K && merge; ++k) merge = st[k].back() == (*strides[k])[d] * shape[d];
    if (merge) {
      sz.back() *= shape[d];
      for (size_t k = 0; k < K; ++k) st[k].back() = (*strides[k])[d];
    } else {
      sz.push_back(shape[d]);
      for (size_t k = 0; k < K; ++k) st[k].push_back((*strides[k])[d]);
    }
  }
  std::array<int64_t, K> off = base;
  if (sz.empty()) {
    std::array<int64_t, K> one{};
    f(off, int64_t{1}, one);
    return;
  }
  const size_t nd = sz.size();
  std::array<int64_t, K> inner;
  for (size_t k = 0; k < K; ++k) inner[k] = st[k][nd - 1];
  const int64_t n = sz[nd - 1];
  std::vector<int64_t> idx(nd, 0);
  for (;;) {
    f(off, n, inner);
    // odometer over the outer dims
    size_t d = nd - 1;
    for (;;) {
      if (d == 0) return;
      --d;
      if (++idx[d] < sz[d]) {
        for (size_t k = 0; k < K; ++k) off[k] += st[k][d];
        break;
      }
      for (size_t k = 0; k < K; ++k) off[k] -= st[k][d] * (sz[d] - 1);
      idx[d] = 0;
    }
  }
}

}  // namespace ha
