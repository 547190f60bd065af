// Indexing: index_select, gather and scatter_add, on the CPU or the GPU. gather and scatter_add are each other's
// adjoint; index_select's backward is a scatter_add with the index broadcast along the other dims (on the GPU,
// rows of a matrix, an embedding lookup, have their own kernels). scatter_add adds in index order on either
// device, so repeated indices accumulate deterministically and alike. The index is range-checked on the host.
#include <algorithm>

#include "autograd/function_node.h"
#include "ops/cuda/gather_cuda.h"
#include "ops/cuda/index_rows_cuda.h"
#include "ops/dispatch.h"
#include "ops/ops.h"

namespace ha {
namespace {

// The index on the host, contiguous (a device index is copied back for the range check).
Tensor host_index(const char* op, const Tensor& index) {
  HATTN_CHECK(index.defined(), op, ": index is undefined");
  HATTN_CHECK(index.dtype() == DType::I64, op, ": index must be int64, got ", describe(index));
  return raw::contiguous(index.to(Device::cpu()));
}

// gather's and scatter_add's iteration space on the GPU: the index's shape, the data's shape and strides.
// Dims other than `dim` of size 1 in both are dropped (they move no offset), so only the rest count against the
// kernels' kMaxIndexDims.
cuda::IndexSpace index_space(const char* op, int64_t dim, const Shape& index_shape, const Shape& data_shape,
                             const Shape& data_strides) {
  cuda::IndexSpace s;
  for (size_t k = 0; k < index_shape.size(); ++k) {
    if (int64_t(k) != dim && index_shape[k] == 1 && data_shape[k] == 1) continue;
    HATTN_CHECK(s.nd < cuda::kMaxIndexDims, op, " (CUDA): at most ", cuda::kMaxIndexDims, " dims of size > 1, got ",
                shape_str(index_shape), " into ", shape_str(data_shape));
    if (int64_t(k) == dim) s.dim = s.nd;
    s.index_shape[s.nd] = index_shape[k];
    s.data_shape[s.nd] = data_shape[k];
    s.data_stride[s.nd] = data_strides[k];
    ++s.nd;
  }
  return s;
}

// Visits every position of `shape` in row-major order: f(position, linear index).
template <class F>
void for_each_position(const Shape& shape, F f) {
  const int64_t n = numel_of(shape);
  std::vector<int64_t> pos(shape.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    f(pos, i);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++pos[d] < shape[d]) break;
      pos[d] = 0;
    }
  }
}

int64_t offset_of(const std::vector<int64_t>& pos, const Shape& strides) {
  int64_t o = 0;
  for (size_t d = 0; d < pos.size(); ++d) o += pos[d] * strides[d];
  return o;
}

}  // namespace

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  check_defined("gather", {x});
  check_floating("gather", x);
  const Tensor idx = host_index("gather", index);
  int64_t d = wrap_dim(dim, x.dim(), "gather");
  HATTN_CHECK(index.dim() == x.dim(), "gather: index ", describe(index), " must have as many dims as input ",
              describe(x));
  for (int64_t k = 0; k < x.dim(); ++k)
    HATTN_CHECK(k == d || index.shape()[k] <= x.shape()[k], "gather: index ", describe(index),
                " is larger than input ", describe(x), " in dim ", k);
  const int64_t* pi = idx.data<int64_t>();
  const int64_t bound = x.shape()[d];
  for (int64_t i = 0; i < idx.numel(); ++i)
    HATTN_CHECK(pi[i] >= 0 && pi[i] < bound, "gather: index ", pi[i], " out of range [0, ", bound, ") in dim ", d,
                " of input ", describe(x));
  Tensor out = Tensor::empty(index.shape(), x.dtype(), x.device());
  if (x.device().is_cuda()) {
    cuda::gather(x.dtype() == DType::F64, x.raw_data(), idx.to(x.device()).data<int64_t>(), out.raw_data(),
                 index_space("gather", d, idx.shape(), x.shape(), x.strides()), x.device().index);
  } else {
    dispatch_floating(x.dtype(), "gather", [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.data<T>();
      T* y = out.data<T>();
      const Shape& st = x.strides();
      for_each_position(index.shape(), [&](const std::vector<int64_t>& pos, int64_t i) {
        y[i] = px[offset_of(pos, st) + (pi[i] - pos[d]) * st[d]];
      });
    });
  }
  if (needs_grad({x})) {
    Shape xs = x.shape();
    const Tensor is = saved(idx);
    record_op(OpName::Gather, {x}, out, [xs, d, is](const Tensor& g) {
      return std::vector<Tensor>{scatter_add(xs, d, is, g)};
    });
  }
  return out;
}

Tensor scatter_add(const Shape& shape, int64_t dim, const Tensor& index, const Tensor& src) {
  check_defined("scatter_add", {src});
  check_floating("scatter_add", src);
  const Tensor idx = host_index("scatter_add", index);
  int64_t d = wrap_dim(dim, static_cast<int64_t>(shape.size()), "scatter_add");
  HATTN_CHECK(index.shape() == src.shape() && index.dim() == static_cast<int64_t>(shape.size()),
              "scatter_add: index ", describe(index), " and source ", describe(src), " must match, with the ",
              shape.size(), " dims of the output ", shape_str(shape));
  for (int64_t k = 0; k < index.dim(); ++k)
    HATTN_CHECK(k == d || index.shape()[k] <= shape[k], "scatter_add: index ", describe(index),
                " is larger than output ", shape_str(shape), " in dim ", k);
  Tensor s = raw::contiguous(src);
  const int64_t* pi = idx.data<int64_t>();
  for (int64_t i = 0; i < idx.numel(); ++i)
    HATTN_CHECK(pi[i] >= 0 && pi[i] < shape[d], "scatter_add: index ", pi[i], " out of range [0, ", shape[d],
                ") in dim ", d, " of output ", shape_str(shape));
  Tensor out;
  if (src.device().is_cuda()) {
    out = Tensor::empty(shape, src.dtype(), src.device());  // the kernel writes every element
    cuda::scatter_add(src.dtype() == DType::F64, s.raw_data(), idx.to(src.device()).data<int64_t>(), out.raw_data(),
                      index_space("scatter_add", d, idx.shape(), shape, out.strides()), src.device().index);
  } else {
    out = Tensor::zeros(shape, src.dtype());
    dispatch_floating(src.dtype(), "scatter_add", [&](auto tag) {
      using T = decltype(tag);
      const T* ps = s.data<T>();
      T* y = out.data<T>();
      const Shape& st = out.strides();
      for_each_position(idx.shape(), [&](const std::vector<int64_t>& pos, int64_t i) {
        y[offset_of(pos, st) + (pi[i] - pos[d]) * st[d]] += ps[i];
      });
    });
  }
  if (needs_grad({src})) {
    const Tensor is = saved(idx);
    record_op(OpName::ScatterAdd, {src}, out, [d, is](const Tensor& g) { return std::vector<Tensor>{gather(g, d, is)}; });
  }
  return out;
}

namespace {

// index_select of the rows of a matrix on the GPU (an embedding lookup). The index stays on the host, where the
// adjoint's grouping of positions by row is built.
Tensor index_rows_cuda(const Tensor& x_in, const Tensor& idx) {
  const char* op = "index_select";
  HATTN_CHECK(x_in.dim() == 2, op, " (CUDA): only rows of a matrix (dim 0 of a 2-d tensor), got ", describe(x_in));
  check_floating(op, x_in);
  const Device dev = x_in.device();
  const bool f64 = x_in.dtype() == DType::F64;
  Tensor x = raw::contiguous(x_in);
  const int64_t n = idx.numel(), rows = x.size(0), width = x.size(1);
  const Tensor index_dev = idx.to(dev);
  Tensor out = Tensor::empty({n, width}, x.dtype(), dev);
  cuda::gather_rows(f64, x.raw_data(), index_dev.data<int64_t>(), out.raw_data(), n, width, dev.index);
  if (needs_grad({x_in})) {
    // positions grouped by the row they read, in position order (CSR): a fixed summation order
    const int64_t* pi = idx.data<int64_t>();
    std::vector<int64_t> order(n);
    for (int64_t i = 0; i < n; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return pi[a] < pi[b]; });
    std::vector<int64_t> used, offsets;
    for (int64_t k = 0; k < n; ++k) {
      if (k == 0 || pi[order[k]] != pi[order[k - 1]]) used.push_back(pi[order[k]]), offsets.push_back(k);
    }
    offsets.push_back(n);
    const int64_t n_used = static_cast<int64_t>(used.size());
    const Tensor used_d = Tensor::from_vector(used, {n_used}).to(dev),
                 offsets_d = Tensor::from_vector(offsets, {n_used + 1}).to(dev),
                 positions_d = Tensor::from_vector(order, {n}).to(dev);
    record_op(OpName::IndexSelect, {x_in}, out, [=](const Tensor& g_in) {
      Tensor g = raw::contiguous(g_in);
      Tensor dx = Tensor::zeros({rows, width}, g.dtype(), dev);
      cuda::scatter_add_rows(f64, g.raw_data(), used_d.data<int64_t>(), offsets_d.data<int64_t>(),
                             positions_d.data<int64_t>(), n_used, dx.raw_data(), width, dev.index);
      return std::vector<Tensor>{dx};
    });
  }
  return out;
}

}  // namespace

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  check_defined("index_select", {x});
  const Tensor idx = host_index("index_select", index);
  int64_t d = wrap_dim(dim, x.dim(), "index_select");
  HATTN_CHECK(index.dim() == 1, "index_select: index must be 1-d, got ", describe(index));
  const int64_t* pi = idx.data<int64_t>();
  for (int64_t i = 0; i < idx.numel(); ++i)
    HATTN_CHECK(pi[i] >= 0 && pi[i] < x.shape()[d], "index_select: index ", pi[i], " out of range [0, ",
                x.shape()[d], ") in dim ", d, " of input ", describe(x));
  if (x.device().is_cuda()) {  // the rows of a matrix: dim to the front, the rest flattened, then back
    if (d == 0 && x.dim() == 2) return index_rows_cuda(x, idx);
    Shape to_front(x.dim());
    to_front[0] = d;
    for (int64_t k = 0, j = 1; k < x.dim(); ++k)
      if (k != d) to_front[j++] = k;
    Shape back(x.dim());
    for (int64_t k = 0; k < x.dim(); ++k) back[to_front[k]] = k;
    const Tensor front = x.permute(to_front).contiguous();
    Shape picked = front.shape();
    picked[0] = idx.numel();
    return index_rows_cuda(front.reshape({front.size(0), -1}), idx).reshape(picked).permute(back);
  }
  // index broadcast to the output's shape along every other dim, then a gather
  Shape oshape = x.shape();
  oshape[d] = idx.numel();
  Shape view_shape(x.dim(), 1);
  view_shape[d] = idx.numel();
  Tensor full_index = raw::contiguous(raw::expand(raw::reshape(idx, view_shape), oshape));
  return gather(x, d, full_index);
}

}  // namespace ha
