// Raw views and conversions: new shape/strides/offset over the same storage, or a fresh copy.
#include <algorithm>
#include <cstring>

#include "tensor/cuda/cuda_memory.h"
#include "tensor/strided_loop.h"
#include "tensor/tensor.h"

namespace ha::raw {

Tensor as_strided(const Tensor& t, const Shape& shape, const Shape& strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = t.impl().storage;
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = t.dtype();
  return Tensor(std::move(impl));
}

Shape infer_shape(const Shape& shape, int64_t numel, const char* op) {
  Shape out = shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      HATTN_CHECK(infer < 0, op, ": only one -1 allowed in shape ", shape_str(shape));
      infer = static_cast<int64_t>(i);
    } else {
      HATTN_CHECK(out[i] >= 0, op, ": invalid size in shape ", shape_str(shape));
      known *= out[i];
    }
  }
  if (infer >= 0) {
    HATTN_CHECK(known > 0 && numel % known == 0, op, ": shape ", shape_str(shape), " is invalid for ", numel,
                " elements");
    out[infer] = numel / known;
  }
  HATTN_CHECK(numel_of(out) == numel, op, ": shape ", shape_str(shape), " is invalid for ", numel, " elements");
  return out;
}

// Walks the old dims from the innermost, grouping runs that are contiguous with each other; each run
// (one stride base) can be re-split into any new dims whose sizes multiply to the run's size.
bool view_strides(const Tensor& t, const Shape& new_shape, Shape& out) {
  const Shape& os = t.shape();
  const Shape& ost = t.strides();
  out.assign(new_shape.size(), 0);
  if (t.numel() == 0 || os.empty()) {
    out = contiguous_strides(new_shape);
    return true;
  }
  int64_t nd = static_cast<int64_t>(new_shape.size()) - 1;
  int64_t base = ost.back(), run = 1, filled = 1;
  for (int64_t od = static_cast<int64_t>(os.size()) - 1; od >= 0; --od) {
    run *= os[od];
    bool run_ends = od == 0 || (os[od - 1] != 1 && ost[od - 1] != run * base);
    if (!run_ends) continue;
    while (nd >= 0 && (filled < run || new_shape[nd] == 1)) {
      out[nd] = filled * base;
      filled *= new_shape[nd];
      --nd;
    }
    if (filled != run) return false;
    if (od > 0) {
      base = ost[od - 1];
      run = 1;
      filled = 1;
    }
  }
  return nd == -1;
}

Tensor view(const Tensor& t, const Shape& shape, const char* op) {
  Shape s = infer_shape(shape, t.numel(), op);
  Shape st;
  HATTN_CHECK(view_strides(t, s, st), op, ": cannot view a tensor of shape ", shape_str(t.shape()),
              " with strides ", shape_str(t.strides()), " as ", shape_str(s), " without a copy; use reshape");
  return as_strided(t, s, st, t.offset());
}

Tensor reshape(const Tensor& t, const Shape& shape) {
  Shape s = infer_shape(shape, t.numel(), "reshape");
  Shape st;
  if (view_strides(t, s, st)) return as_strided(t, s, st, t.offset());
  Tensor c = contiguous(t);
  return as_strided(c, s, contiguous_strides(s), c.offset());
}

Tensor permute(const Tensor& t, const Shape& dims) {
  const int64_t n = t.dim();
  HATTN_CHECK(static_cast<int64_t>(dims.size()) == n, "permute: ", dims.size(), " dims given for a tensor of shape ",
              shape_str(t.shape()));
  std::vector<bool> seen(n, false);
  Shape s(n), st(n);
  for (int64_t i = 0; i < n; ++i) {
    int64_t d = wrap_dim(dims[i], n, "permute");
    HATTN_CHECK(!seen[d], "permute: dim ", d, " repeated in ", shape_str(dims));
    seen[d] = true;
    s[i] = t.shape()[d];
    st[i] = t.strides()[d];
  }
  return as_strided(t, s, st, t.offset());
}

Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length) {
  int64_t d = wrap_dim(dim, t.dim(), "narrow");
  HATTN_CHECK(start >= 0 && length >= 0 && start + length <= t.shape()[d], "narrow: range [", start, ", ",
              start + length, ") out of bounds for dim ", d, " of shape ", shape_str(t.shape()));
  Shape s = t.shape();
  s[d] = length;
  return as_strided(t, s, t.strides(), t.offset() + start * t.strides()[d]);
}

Tensor flip(const Tensor& t, int64_t dim) {
  int64_t d = wrap_dim(dim, t.dim(), "flip");
  Shape st = t.strides();
  int64_t off = t.offset() + (t.shape()[d] > 0 ? (t.shape()[d] - 1) * st[d] : 0);
  st[d] = -st[d];
  return as_strided(t, t.shape(), st, off);
}

Tensor expand(const Tensor& t, const Shape& shape, const char* op) {
  const int64_t n = static_cast<int64_t>(shape.size());
  HATTN_CHECK(n >= t.dim(), op, ": cannot expand shape ", shape_str(t.shape()), " to ", shape_str(shape));
  Shape st(n, 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t j = i - (n - t.dim());
    if (j < 0) continue;
    int64_t have = t.shape()[j];
    HATTN_CHECK(have == shape[i] || have == 1, op, ": cannot broadcast shape ", shape_str(t.shape()), " to ",
                shape_str(shape));
    st[i] = have == shape[i] ? t.strides()[j] : 0;
  }
  return as_strided(t, shape, st, t.offset());
}

Tensor contiguous(const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor out = Tensor::empty(t.shape(), t.dtype(), t.device());
  if (t.device().is_cpu()) return out.copy_(t);
  cuda::strided_copy(static_cast<int>(dtype_size(t.dtype())), t.raw_data(), out.raw_data(),
             cuda::strided_of(t.shape(), {&out.strides(), &t.strides()}), t.device().index);
  return out;
}

Tensor clone(const Tensor& t) {
  if (t.device().is_cuda() && !t.is_contiguous()) return contiguous(t);
  Tensor out = Tensor::empty(t.shape(), t.dtype(), t.device());
  if (t.device().is_cpu()) return out.copy_(t);
  cuda::copy_device_to_device(out.raw_data(), t.raw_data(), t.numel() * dtype_size(t.dtype()), t.device().index);
  return out;
}

Tensor to_dtype(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = Tensor::empty(t.shape(), dtype, t.device());
  if (t.device().is_cpu()) return out.copy_(t);
  cuda::convert_copy(t.dtype(), dtype, t.raw_data(), out.raw_data(),
                     cuda::strided_of(t.shape(), {&out.strides(), &t.strides()}), t.device().index);
  return out;
}

Tensor to_device(const Tensor& t, Device device) {
  if (t.device() == device) return t;
  if (t.device().is_cpu() && device.is_cpu()) return t;
  Tensor out = Tensor::empty(t.shape(), t.dtype(), device);
  size_t nbytes = t.numel() * dtype_size(t.dtype());
  if (device.is_cuda() && t.device().is_cpu()) {
    Tensor c = contiguous(t);
    cuda::copy_host_to_device(out.raw_data(), c.raw_data(), nbytes, device.index);
  } else if (device.is_cpu()) {
    Tensor c = contiguous(t);
    cuda::copy_device_to_host(out.raw_data(), c.raw_data(), nbytes, t.device().index);
  } else {
    HATTN_CHECK(false, "to(", device.name(), "): copies between CUDA devices are not supported");
  }
  return out;
}

void add_(const Tensor& dst, const Tensor& src) {
  HATTN_CHECK(dst.shape() == src.shape() && dst.dtype() == src.dtype() && dst.device() == src.device(),
              "add_: destination ", describe(dst), " and source ", describe(src), " differ");
  dst.bump_version();
  if (dst.device().is_cuda()) {
    HATTN_CHECK(is_floating(dst.dtype()), "add_: CUDA accumulation needs a floating dtype");
    const Tensor s = contiguous(src);
    if (dst.is_contiguous()) {
      cuda::add_inplace(dst.raw_data(), s.raw_data(), dst.numel(), dst.dtype() == DType::F64, dst.device().index);
    } else {  // accumulate in a contiguous copy, then write it back through dst's strides
      Tensor d = contiguous(dst);
      cuda::add_inplace(d.raw_data(), s.raw_data(), d.numel(), d.dtype() == DType::F64, d.device().index);
      Tensor(dst).copy_(d);
    }
    return;
  }
  dispatch_all(dst.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* d = dst.data<T>();
    const T* s = src.data<T>();
    strided_loop<2>(dst.shape(), {&dst.strides(), &src.strides()}, {0, 0}, [&](auto off, int64_t n, auto st) {
      for (int64_t i = 0; i < n; ++i) d[off[0] + i * st[0]] += s[off[1] + i * st[1]];
    });
  });
}

}  // namespace ha::raw
