// Differentiable views and conversions: the Tensor member functions. Each wraps a raw:: primitive.
#include "autograd/function_node.h"
#include "ops/ops.h"

namespace ha {

Tensor Tensor::reshape(const Shape& shape) const {
  Tensor out = raw::reshape(*this, shape);
  if (needs_grad({*this})) {
    Shape in = this->shape();
    record_op(OpName::Reshape, {*this}, out, [in](const Tensor& g) { return std::vector<Tensor>{g.reshape(in)}; });
  }
  return out;
}

Tensor Tensor::view(const Shape& shape) const {
  Tensor out = raw::view(*this, shape);
  if (needs_grad({*this})) {
    Shape in = this->shape();
    record_op(OpName::View, {*this}, out, [in](const Tensor& g) { return std::vector<Tensor>{g.reshape(in)}; });
  }
  return out;
}

Tensor Tensor::permute(const Shape& dims) const {
  Tensor out = raw::permute(*this, dims);
  if (needs_grad({*this})) {
    Shape inverse(dims.size());
    for (size_t i = 0; i < dims.size(); ++i) inverse[wrap_dim(dims[i], dim(), "permute")] = static_cast<int64_t>(i);
    record_op(OpName::Permute, {*this}, out,
              [inverse](const Tensor& g) { return std::vector<Tensor>{g.permute(inverse)}; });
  }
  return out;
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  Shape dims(dim());
  for (int64_t i = 0; i < dim(); ++i) dims[i] = i;
  std::swap(dims[wrap_dim(d0, dim(), "transpose")], dims[wrap_dim(d1, dim(), "transpose")]);
  return permute(dims);
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  Tensor out = raw::narrow(*this, d, start, length);
  if (needs_grad({*this})) {
    Shape in = shape();
    DType dt = dtype();
    Device dev = device();
    record_op(OpName::Narrow, {*this}, out, [=](const Tensor& g) {
      Tensor dx = Tensor::zeros(in, dt, dev);
      raw::narrow(dx, d, start, length).copy_(g);
      return std::vector<Tensor>{dx};
    });
  }
  return out;
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end) const {
  int64_t dd = wrap_dim(d, dim(), "slice");
  int64_t n = shape()[dd];
  if (start < 0) start += n;
  if (end < 0) end += n;
  HATTN_CHECK(start >= 0 && start <= end && end <= n, "slice: range [", start, ", ", end, ") out of bounds for dim ",
              dd, " of shape ", shape_str(shape()));
  return narrow(dd, start, end - start);
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  int64_t dd = wrap_dim(d, dim(), "select");
  int64_t i = index < 0 ? index + shape()[dd] : index;
  HATTN_CHECK(i >= 0 && i < shape()[dd], "select: index ", index, " out of range for dim ", dd, " of shape ",
              shape_str(shape()));
  return narrow(dd, i, 1).squeeze(dd);
}

Tensor Tensor::flip(int64_t d) const {
  Tensor out = raw::flip(*this, d);
  if (needs_grad({*this})) {
    record_op(OpName::Flip, {*this}, out, [d](const Tensor& g) { return std::vector<Tensor>{g.flip(d)}; });
  }
  return out;
}

Tensor Tensor::expand(const Shape& shape) const {
  Tensor out = raw::expand(*this, shape);
  if (needs_grad({*this})) {
    Shape in = this->shape();
    record_op(OpName::Expand, {*this}, out, [in](const Tensor& g) { return std::vector<Tensor>{sum_to(g, in)}; });
  }
  return out;
}

Tensor Tensor::squeeze(int64_t d) const {
  int64_t dd = wrap_dim(d, dim(), "squeeze");
  HATTN_CHECK(shape()[dd] == 1, "squeeze: dim ", dd, " of shape ", shape_str(shape()), " is not 1");
  Shape s = shape();
  s.erase(s.begin() + dd);
  return view(s);
}

Tensor Tensor::unsqueeze(int64_t d) const {
  int64_t dd = wrap_dim(d, dim() + 1, "unsqueeze");
  Shape s = shape();
  s.insert(s.begin() + dd, 1);
  return view(s);
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = raw::clone(*this);
  if (needs_grad({*this})) {
    record_op(OpName::Clone, {*this}, out, [](const Tensor& g) { return std::vector<Tensor>{g}; });
  }
  return out;
}

Tensor Tensor::to(DType dt) const {
  if (dt == dtype()) return *this;
  Tensor out = raw::to_dtype(*this, dt);
  if (needs_grad({*this}) && is_floating(dt)) {  // integer results carry no gradient
    DType in = dtype();
    record_op(OpName::ToDtype, {*this}, out, [in](const Tensor& g) { return std::vector<Tensor>{g.to(in)}; });
  }
  return out;
}

Tensor Tensor::to(Device dev) const {
  if (dev == device()) return *this;
  Tensor out = raw::to_device(*this, dev);
  if (needs_grad({*this})) {
    Device in = device();
    record_op(OpName::ToDevice, {*this}, out, [in](const Tensor& g) { return std::vector<Tensor>{g.to(in)}; });
  }
  return out;
}

}  // namespace ha
