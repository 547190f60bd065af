// Tensor: a cheap handle (shared_ptr) to a TensorImpl = storage + shape + strides + offset + dtype + device,
// plus the autograd metadata the tape needs. Views share storage. Strides are in elements and may be zero
// (expand) or negative (flip).
//
// The tensor layer knows no tape: autograd fields are opaque here and filled in by autograd/ and ops/.
// Differentiable member functions (reshape, permute, ...) are declared here and defined in ops/views.cpp;
// the raw storage-level versions they build on live in namespace ha::raw (tensor/views.cpp).
#pragma once
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <vector>

#include "tensor/device.h"
#include "tensor/dtype.h"
#include "tensor/shape.h"
#include "tensor/storage.h"

namespace ha {

class Node;
class Tensor;
using GradHook = std::function<Tensor(const Tensor&)>;  // returns a replacement gradient, or undefined to keep

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;
  int64_t offset = 0;  // in elements
  DType dtype = DType::F32;

  // Autograd metadata (see autograd/node.h; the backward pass is autograd/engine.cpp).
  bool requires_grad = false;           // leaves only; non-leaves require grad iff grad_fn is set
  std::shared_ptr<Node> grad_fn;        // the node that produced this tensor
  int output_nr = 0;                    // which output of grad_fn
  std::shared_ptr<TensorImpl> grad;     // accumulated gradient (leaves, or retain_grad())
  std::vector<GradHook> leaf_hooks;     // hooks on a leaf; non-leaf hooks live on grad_fn
  std::weak_ptr<Node> grad_accumulator; // a leaf's one AccumulateGrad node, shared by all its uses
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- factories (contiguous, CPU unless a device is given)
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor ones(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor scalar(double value, DType dtype = DType::F32);
  static Tensor arange(int64_t n, DType dtype = DType::F32);
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape);

  // ---- metadata
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Shape& strides() const { return impl().strides; }
  int64_t dim() const { return static_cast<int64_t>(impl().shape.size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return numel_of(impl().shape); }
  int64_t offset() const { return impl().offset; }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device(); }
  bool is_contiguous() const;
  bool same_storage(const Tensor& o) const { return impl().storage == o.impl().storage; }

  // Pointer to element 0 of this view; checks that T matches the dtype.
  template <class T>
  T* data() const {
    HATTN_CHECK(dtype_of<T>::value == dtype(), "Tensor::data<", dtype_name(dtype_of<T>::value),
                ">: tensor has dtype ", dtype_name(dtype()));
    return static_cast<T*>(impl().storage->data()) + impl().offset;
  }
  void* raw_data() const {
    return static_cast<char*>(impl().storage->data()) + impl().offset * dtype_size(dtype());
  }

  double item() const;                              // the single element, as double (copies from CUDA)
  double at(const std::vector<int64_t>& idx) const;  // one element, as double (CPU)
  template <class T>
  std::vector<T> to_vector() const;  // row-major copy (CPU)

  // ---- in-place, no autograd
  Tensor& fill_(double value);
  Tensor& zero_() { return fill_(0.0); }
  Tensor& copy_(const Tensor& src);  // broadcasting, dtype-converting strided copy

  // ---- differentiable views and conversions (ops/views.cpp)
  Tensor reshape(const Shape& shape) const;  // view when strides allow, copy otherwise; one -1 allowed
  Tensor view(const Shape& shape) const;     // view only; throws if strides do not allow it
  Tensor permute(const Shape& dims) const;
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end) const;  // [start, end), negative = from end
  Tensor select(int64_t dim, int64_t index) const;              // drops dim
  Tensor flip(int64_t dim) const;                                // a view with a negative stride
  Tensor expand(const Shape& shape) const;                       // broadcast view, stride 0
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor contiguous() const;
  Tensor to(DType dtype) const;
  Tensor to(Device device) const;
  Tensor clone() const;

  // ---- autograd (autograd/engine.cpp)
  bool requires_grad() const;
  Tensor& requires_grad_(bool on = true);
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  Tensor grad() const;  // undefined when none accumulated
  void zero_grad();
  Tensor detach() const;  // same storage, no history
  // In-place writes to the storage so far (shared by all views); code that writes through data<T>() into a
  // tensor that may be saved for backward calls bump_version() (Tensor's own in-place methods do).
  uint64_t version() const { return impl().storage->version(); }
  void bump_version() const { impl().storage->bump_version(); }
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;
  void register_hook(GradHook hook) const;
  void retain_grad() const;  // keep .grad() on an intermediate tensor

  TensorImpl& impl() const {
    HATTN_CHECK(impl_ != nullptr, "use of an undefined Tensor");
    return *impl_;
  }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);
std::string describe(const Tensor& t);  // "float32(2, 3) cpu"

// Raw, storage-level view and copy primitives: no autograd. ops/ builds the differentiable versions.
namespace raw {
Tensor as_strided(const Tensor& t, const Shape& shape, const Shape& strides, int64_t offset);
bool view_strides(const Tensor& t, const Shape& new_shape, Shape& out_strides);  // false if a copy is needed
Tensor view(const Tensor& t, const Shape& shape, const char* op = "view");
Tensor reshape(const Tensor& t, const Shape& shape);
Tensor permute(const Tensor& t, const Shape& dims);
Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length);
Tensor flip(const Tensor& t, int64_t dim);
Tensor expand(const Tensor& t, const Shape& shape, const char* op = "expand");
Tensor contiguous(const Tensor& t);
Tensor to_dtype(const Tensor& t, DType dtype);
Tensor to_device(const Tensor& t, Device device);
Tensor clone(const Tensor& t);
void add_(const Tensor& dst, const Tensor& src);  // dst += src, same shape and dtype (gradient accumulation)
Shape infer_shape(const Shape& shape, int64_t numel, const char* op);  // resolves one -1
}  // namespace raw

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape) {
  HATTN_CHECK(static_cast<int64_t>(values.size()) == numel_of(shape), "Tensor::from_vector: ", values.size(),
              " values for shape ", shape_str(shape));
  Tensor t = empty(shape, dtype_of<T>::value);
  T* p = t.data<T>();
  for (size_t i = 0; i < values.size(); ++i) p[i] = values[i];
  return t;
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor c = raw::contiguous(raw::to_dtype(raw::to_device(*this, Device::cpu()), dtype_of<T>::value));
  const T* p = c.data<T>();
  return std::vector<T>(p, p + c.numel());
}

}  // namespace ha
