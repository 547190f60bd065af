// Printing in PyTorch's spirit: nested brackets, at most 6 items per dim (first 3 ... last 3).
#include <iomanip>
#include <ostream>

#include "tensor/tensor.h"

namespace ha {

static void print_rec(std::ostream& os, const Tensor& t, int64_t d, int64_t off, int indent) {
  const int64_t n = t.shape()[d];
  const bool elide = n > 6;
  os << "[";
  for (int64_t i = 0; i < n; ++i) {
    if (elide && i == 3) {
      os << (d + 1 == t.dim() ? "..., " : "...,\n" + std::string(indent + 1, ' '));
      i = n - 3;
    }
    int64_t o = off + i * t.strides()[d];
    if (d + 1 == t.dim()) {
      dispatch_all(t.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* p = static_cast<const T*>(t.impl().storage->data());
        if constexpr (std::is_floating_point_v<T>) {
          os << std::setprecision(6) << p[o];
        } else {
          os << static_cast<int64_t>(p[o]);
        }
      });
    } else {
      print_rec(os, t, d + 1, o, indent + 1);
    }
    if (i + 1 < n) os << (d + 1 == t.dim() ? ", " : ",\n" + std::string(indent + 1, ' '));
  }
  os << "]";
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "Tensor(undefined)";
  Tensor c = raw::to_device(t, Device::cpu());
  os << "Tensor(";
  if (c.dim() == 0) {
    os << c.item();
  } else if (c.numel() == 0) {
    os << "[]";
  } else {
    print_rec(os, c, 0, c.offset(), 7);
  }
  os << ", " << describe(t);
  if (t.requires_grad()) os << ", requires_grad";
  return os << ")";
}

}  // namespace ha
