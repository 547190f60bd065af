// Reductions. Every reduction moves the reduced dims innermost, then reduces contiguous rows with a
// double accumulator in a fixed order: results are bitwise reproducible whatever the thread count.
#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/function_node.h"
#include "ops/cuda/reduce_cuda.h"
#include "ops/dispatch.h"
#include "ops/ops.h"
#include "tensor/parallel.h"

namespace ha {
namespace {

struct Split {
  Shape perm;          // kept dims, then reduced dims
  Shape kept_shape;    // output shape without keepdim
  Shape keep_shape;    // output shape with keepdim
  int64_t rows = 1, cols = 1;
};

Split split_dims(const Tensor& x, const Shape& dims, const char* op) {
  Split s;
  const int64_t n = x.dim();
  std::vector<bool> reduced(n, dims.empty());
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, n, op);
    HATTN_CHECK(!reduced[w], op, ": dim ", d, " repeated in ", shape_str(dims));
    reduced[w] = true;
  }
  s.keep_shape = x.shape();
  for (int64_t d = 0; d < n; ++d) {
    if (reduced[d]) continue;
    s.perm.push_back(d);
    s.kept_shape.push_back(x.shape()[d]);
    s.rows *= x.shape()[d];
  }
  for (int64_t d = 0; d < n; ++d) {
    if (!reduced[d]) continue;
    s.perm.push_back(d);
    s.keep_shape[d] = 1;
    s.cols *= x.shape()[d];
  }
  return s;
}

constexpr int64_t kChunk = 4096;  // fixed partial-sum block: determinism must not depend on threads

template <class T>
double row_sum(const T* p, int64_t n) {
  double acc = 0;
  for (int64_t i = 0; i < n; ++i) acc += p[i];
  return acc;
}

}  // namespace

// CPU: the kept dims first, then the reduced ones, as (rows, cols) of a contiguous copy.
static void sum_rows(const Tensor& rows, const Split& s, Tensor& out) {
  dispatch_floating(rows.dtype(), "sum", [&](auto tag) {
    using T = decltype(tag);
    const T* p = rows.data<T>();
    T* y = out.data<T>();
    if (s.rows == 1 && s.cols > kChunk) {
      int64_t chunks = (s.cols + kChunk - 1) / kChunk;
      std::vector<double> part(chunks);
      parallel_for(chunks, 1, [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c) part[c] = row_sum(p + c * kChunk, std::min(kChunk, s.cols - c * kChunk));
      });
      double acc = 0;
      for (double v : part) acc += v;
      y[0] = static_cast<T>(acc);
      return;
    }
    parallel_for(s.rows, std::max<int64_t>(1, kChunk / std::max<int64_t>(1, s.cols)), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) y[r] = static_cast<T>(row_sum(p + r * s.cols, s.cols));
    });
  });
}

Tensor sum(const Tensor& x, const Shape& dims, bool keepdim) {
  check_defined("sum", {x});
  check_floating("sum", x);
  Split s = split_dims(x, dims, "sum");
  Tensor out = Tensor::empty(keepdim ? s.keep_shape : s.kept_shape, x.dtype(), x.device());
  if (x.device().is_cuda()) {
    // s.perm lists the kept dims first, then the reduced ones; no permuted copy on the device
    Shape kept_shape, kept_strides, red_shape, red_strides;
    const int64_t n_kept = static_cast<int64_t>(s.kept_shape.size());
    for (int64_t i = 0; i < x.dim(); ++i) {
      const int64_t d = s.perm[i];
      (i < n_kept ? kept_shape : red_shape).push_back(x.shape()[d]);
      (i < n_kept ? kept_strides : red_strides).push_back(x.strides()[d]);
    }
    cuda::sum(x.dtype() == DType::F64, x.raw_data(), out.raw_data(), cuda::strided_of(kept_shape, {&kept_strides}),
              cuda::strided_of(red_shape, {&red_strides}), x.device().index);
  } else {
    sum_rows(raw::contiguous(raw::permute(x, s.perm)), s, out);
  }
  if (needs_grad({x})) {
    Shape xs = x.shape(), ks = s.keep_shape;
    record_op(OpName::Sum, {x}, out, [xs, ks](const Tensor& g) { return std::vector<Tensor>{g.reshape(ks).expand(xs)}; });
  }
  return out;
}

Tensor mean(const Tensor& x, const Shape& dims, bool keepdim) {
  Split s = split_dims(x, dims, "mean");
  HATTN_CHECK(s.cols > 0, "mean: reducing ", shape_str(x.shape()), " over an empty set of elements");
  return mul(sum(x, dims, keepdim), 1.0 / static_cast<double>(s.cols));
}

static ValuesIndices extremum(const Tensor& x, int64_t dim, bool keepdim, bool want_max, const char* op) {
  check_defined(op, {x});
  check_floating(op, x);
  int64_t d = wrap_dim(dim, x.dim(), op);
  HATTN_CHECK(x.shape()[d] > 0, op, ": cannot reduce an empty dim ", d, " of shape ", shape_str(x.shape()));
  Split s = split_dims(x, {d}, op);
  Tensor rows = raw::contiguous(raw::permute(x, s.perm));
  Shape oshape = keepdim ? s.keep_shape : s.kept_shape;
  Tensor values = Tensor::empty(oshape, x.dtype(), x.device());
  Tensor indices = Tensor::empty(oshape, DType::I64, x.device());
  if (x.device().is_cuda())
    cuda::extremum_rows(x.dtype() == DType::F64, want_max, rows.raw_data(), values.raw_data(),
                        indices.data<int64_t>(), s.rows, s.cols, x.device().index);
  else
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* p = rows.data<T>();
    T* v = values.data<T>();
    int64_t* ix = indices.data<int64_t>();
    parallel_for(s.rows, 64, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const T* row = p + r * s.cols;
        int64_t best = 0;
        for (int64_t i = 1; i < s.cols; ++i) {
          // NaN wins, so it propagates as in PyTorch
          bool better = want_max ? (row[i] > row[best]) : (row[i] < row[best]);
          if (std::isnan(row[i]) && !std::isnan(row[best])) better = true;
          if (better) best = i;
        }
        v[r] = row[best];
        ix[r] = best;
      }
    });
  });
  if (needs_grad({x})) {  // scatter_add, on either device
    Shape xs = x.shape(), ks = s.keep_shape;
    Tensor idx = saved(raw::reshape(indices, ks));  // the caller holds `indices` too: a write to it is caught
    record_op(want_max ? OpName::Max : OpName::Min, {x}, values, [xs, ks, idx, d](const Tensor& g) {
      return std::vector<Tensor>{scatter_add(xs, d, idx, g.reshape(ks))};
    });
  }
  return {values, indices};
}

ValuesIndices max(const Tensor& x, int64_t dim, bool keepdim) { return extremum(x, dim, keepdim, true, "max"); }
ValuesIndices min(const Tensor& x, int64_t dim, bool keepdim) { return extremum(x, dim, keepdim, false, "min"); }

Tensor amax(const Tensor& x) {
  HATTN_CHECK(x.defined() && x.numel() > 0, "amax: empty tensor ", describe(x));
  return max(x.reshape({-1}), 0).values;
}

Tensor amin(const Tensor& x) {
  HATTN_CHECK(x.defined() && x.numel() > 0, "amin: empty tensor ", describe(x));
  return min(x.reshape({-1}), 0).values;
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  NoGradGuard no_grad;  // indices carry no gradient
  return max(x, dim, keepdim).indices;
}

Tensor minmax_normalize(const Tensor& x) {
  Tensor lo = amin(x), hi = amax(x);
  double range = hi.item() - lo.item();
  if (!(range > 0)) return Tensor::zeros(x.shape(), x.dtype());
  return div(sub(x, lo), sub(hi, lo));
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  const int64_t lead = x.dim() - static_cast<int64_t>(shape.size());
  HATTN_CHECK(lead >= 0, "sum_to: cannot reduce ", shape_str(x.shape()), " to ", shape_str(shape));
  Shape dims;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (d < lead) {
      dims.push_back(d);
    } else {
      int64_t want = shape[d - lead];
      HATTN_CHECK(want == x.shape()[d] || want == 1, "sum_to: cannot reduce ", shape_str(x.shape()), " to ",
                  shape_str(shape));
      if (want == 1 && x.shape()[d] != 1) dims.push_back(d);
    }
  }
  if (dims.empty()) return x.reshape(shape);
  return sum(x, dims, true).reshape(shape);
}

}  // namespace ha
