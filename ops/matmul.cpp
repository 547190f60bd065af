// matmul and linear. Forward runs cpu::gemm on strided views (transposes are free); backward is
//   dA = dC B^T, dB = A^T dC, each summed over broadcast batch dims.
#include <type_traits>

#include "autograd/function_node.h"
#include "ops/cpu/gemm.h"
#include "ops/cuda/gemm_cuda.h"
#include "ops/dispatch.h"
#include "ops/ops.h"
#include "tensor/parallel.h"

namespace ha {
namespace {

// C (batch..., M, N) contiguous; A, B already expanded to C's batch dims.
void batched_gemm(const Tensor& A_in, const Tensor& B_in, Tensor& C) {
  const int64_t nd = C.dim();
  Tensor A = A_in, B = B_in;
  if (C.device().is_cuda()) {  // cuBLAS needs a unit stride in each operand
    const int64_t m = C.shape()[nd - 2], n = C.shape()[nd - 1], k = A.shape()[nd - 1];
    if (!cuda::gemm_operand_ok(m, k, A.strides()[nd - 2], A.strides()[nd - 1])) A = raw::contiguous(A);
    if (!cuda::gemm_operand_ok(k, n, B.strides()[nd - 2], B.strides()[nd - 1])) B = raw::contiguous(B);
  }
  const int64_t M = C.shape()[nd - 2], N = C.shape()[nd - 1], K = A.shape()[nd - 1];
  const int64_t batch = numel_of(Shape(C.shape().begin(), C.shape().end() - 2));
  Shape bshape(C.shape().begin(), C.shape().end() - 2);
  auto offsets = [&](int64_t b, int64_t& oa, int64_t& ob) {
    oa = ob = 0;
    for (int64_t d = nd - 3; d >= 0; --d) {
      int64_t i = b % bshape[d];
      b /= bshape[d];
      oa += i * A.strides()[d];
      ob += i * B.strides()[d];
    }
  };
  dispatch_floating(C.dtype(), "matmul", [&](auto tag) {
    using T = decltype(tag);
    const T* pa = A.data<T>();
    const T* pb = B.data<T>();
    T* pc = C.data<T>();
    const int64_t rsA = A.strides()[nd - 2], csA = A.strides()[nd - 1];
    const int64_t rsB = B.strides()[nd - 2], csB = B.strides()[nd - 1];
    auto one = [&](int64_t b) {
      int64_t oa, ob;
      offsets(b, oa, ob);
      if (C.device().is_cuda())
        cuda::gemm(std::is_same_v<T, double>, M, N, K, pa + oa, rsA, csA, pb + ob, rsB, csB, pc + b * M * N, N,
                   C.device().index);
      else
        cpu::gemm<T>(M, N, K, T(1), pa + oa, rsA, csA, pb + ob, rsB, csB, T(0), pc + b * M * N, N);
    };
    if (C.device().is_cuda()) {  // one stream: the GEMMs run in order
      for (int64_t b = 0; b < batch; ++b) one(b);
      return;
    }
    // One matrix per thread when there are enough of them to keep every thread busy, or when they are too small
    // to split; otherwise gemm parallelises inside. Either way each element is summed in the same order.
    if (batch > 1 && (batch >= num_threads() || M * N * K < (1 << 18))) {
      parallel_for(batch, 1, [&](int64_t s, int64_t e) {
        for (int64_t b = s; b < e; ++b) one(b);
      });
    } else {
      for (int64_t b = 0; b < batch; ++b) one(b);
    }
  });
}

// Whether the leading dims of t (all but the last) merge into one strided dim, so (..., M, K) is a view
// of (rows, K). A transposed batch (B, L, E) of a (B, E, L) tensor does not: flattening it would copy.
bool rows_merge(const Tensor& t) {
  for (int64_t d = 0; d + 2 < t.dim(); ++d)
    if (t.size(d) > 1 && t.strides()[d] != t.strides()[d + 1] * t.size(d + 1)) return false;
  return true;
}

Tensor matmul_forward(const Tensor& a, const Tensor& b) {
  const int64_t K = a.shape().back();
  HATTN_CHECK(b.shape()[b.dim() - 2] == K, "matmul: inner dims differ: ", describe(a), " x ", describe(b));
  const int64_t M = a.shape()[a.dim() - 2], N = b.shape().back();
  if (b.dim() == 2 && a.dim() > 2 && rows_merge(a)) {
    // (..., M, K) x (K, N): one GEMM over all rows of a
    Tensor a2 = raw::reshape(a, {-1, K});
    Shape oshape(a.shape().begin(), a.shape().end() - 1);
    oshape.push_back(N);
    Tensor out = Tensor::empty({a2.shape()[0], N}, a.dtype(), a.device());
    batched_gemm(a2, b, out);
    return raw::view(out, oshape);
  }
  Shape ba(a.shape().begin(), a.shape().end() - 2), bb(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcast_shapes(ba, bb, "matmul");
  Shape sa = batch, sb = batch, so = batch;
  sa.insert(sa.end(), {M, K});
  sb.insert(sb.end(), {K, N});
  so.insert(so.end(), {M, N});
  Tensor out = Tensor::empty(so, a.dtype(), a.device());
  batched_gemm(raw::expand(a, sa, "matmul"), raw::expand(b, sb, "matmul"), out);
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_defined("matmul", {a, b});
  HATTN_CHECK(a.device() == b.device(), "matmul: operands on different devices: ", describe(a), " and ", describe(b));
  check_same_dtype("matmul", a, b);
  check_floating("matmul", a);
  HATTN_CHECK(a.dim() >= 2 && b.dim() >= 2, "matmul: both operands need at least 2 dims, got ", describe(a), " x ",
              describe(b));
  Tensor out = matmul_forward(a, b);
  if (needs_grad({a, b})) {
    bool ga = a.requires_grad(), gb = b.requires_grad();
    Tensor as = gb ? saved(a) : Tensor(), bs = ga ? saved(b) : Tensor();
    Shape sa = a.shape(), sb = b.shape();
    record_op(OpName::Matmul, {a, b}, out, [=](const Tensor& g) {
      Tensor da, db;
      if (ga) da = sum_to(matmul(g, bs.transpose(-1, -2)), sa);
      if (gb) {
        if (sb.size() == 2 && sa.size() > 2 && rows_merge(as)) {
          const int64_t K = sa.back(), N = sb.back();
          db = matmul(as.reshape({-1, K}).transpose(0, 1), g.reshape({-1, N}));
        } else {
          db = sum_to(matmul(as.transpose(-1, -2), g), sb);
        }
      }
      return std::vector<Tensor>{da, db};
    });
  }
  return out;
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  check_defined("linear", {x, w});
  HATTN_CHECK(w.dim() == 2, "linear: weight must be (out, in), got ", describe(w));
  HATTN_CHECK(x.dim() >= 1 && x.shape().back() == w.shape()[1], "linear: input ", describe(x),
              " does not end in the weight's in-features ", w.shape()[1], " (weight ", describe(w), ")");
  HATTN_CHECK(!b.defined() || b.shape() == Shape{w.shape()[0]}, "linear: bias ", describe(b), " must be (",
              w.shape()[0], ")");
  Tensor x2 = x.dim() == 1 ? x.unsqueeze(0) : x;
  Tensor y = matmul(x2, w.transpose(0, 1));
  if (b.defined()) y = add(y, b);
  return x.dim() == 1 ? y.squeeze(0) : y;
}

}  // namespace ha
