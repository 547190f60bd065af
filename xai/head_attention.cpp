#include "xai/head_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/cpu/gemm.h"
#include "ops/dispatch.h"
#include "tensor/parallel.h"

namespace ha::xai {
namespace {

// One batch item's trace on the CPU, contiguous.
struct HeadFactors {
  Tensor delta, B, C, A;  // (H, T), (GN, T), (GN, T), (H)
  int64_t H, T, GN;
  HeadFactors(const nn::Mamba2Trace& t, int64_t b) {
    HATTN_CHECK(t.delta.defined() && b >= 0 && b < t.delta.size(0), "head attention: batch index ", b,
                " out of range (or no trace)");
    delta = t.delta.select(0, b).to(Device::cpu()).contiguous();
    B = t.Bm.select(0, b).to(Device::cpu()).contiguous();
    C = t.Cm.select(0, b).to(Device::cpu()).contiguous();
    A = t.A.to(Device::cpu()).contiguous();
    H = delta.size(0);
    T = delta.size(1);
    GN = B.size(0);
  }
};

// The per-group Gram matrices C Bᵀ (G, T, T) in double (one GEMM each, shared by the group's heads) and the
// per-head prefix sums S_i = Σ_{k≤i} Δ_k in double: α_h[i,j] = CB_g[i,j] · exp(A_h (S_i − S_j)) · Δ_h[j].
template <class T>
struct HeadTerms {
  HeadFactors f;
  int64_t H, L, G, N;
  std::vector<double> CB, S;  // (G, L, L), (H, L)
  const T *delta, *A;

  HeadTerms(const nn::Mamba2Trace& t, int64_t b) : f(t, b), H(f.H), L(f.T), G(t.groups) {
    HATTN_CHECK(G > 0 && f.GN % G == 0 && H % G == 0, "head attention: ", H, " heads and ", f.GN, " B/C rows in ",
                G, " groups do not divide");
    N = f.GN / G;
    const std::vector<double> B = f.B.template to_vector<double>(), C = f.C.template to_vector<double>();
    CB.resize(G * L * L);
    for (int64_t g = 0; g < G; ++g)  // (C_g)ᵀ (L, N) times B_g (N, L): strided views, no copies
      cpu::gemm<double>(L, L, N, 1.0, &C[g * N * L], 1, L, &B[g * N * L], L, 1, 0.0, &CB[g * L * L], L);
    delta = f.delta.template data<T>();
    A = f.A.template data<T>();
    S.resize(H * L);
    for (int64_t h = 0; h < H; ++h) {
      double acc = 0;
      for (int64_t i = 0; i < L; ++i) S[h * L + i] = (acc += double(delta[h * L + i]));
    }
  }
  // α_h[i, 0..i] into out[0..i], in T (as the matrices are stored)
  void row(int64_t h, int64_t i, T* out) const {
    const double* cb = &CB[(h / (H / G)) * L * L + i * L];
    const double* Sh = &S[h * L];
    const double a = double(A[h]), Si = Sh[i];
    const T* d = delta + h * L;
    for (int64_t j = 0; j <= i; ++j) out[j] = static_cast<T>(cb[j] * std::exp(a * (Si - Sh[j])) * double(d[j]));
  }
};

template <class T>
void fill_rows(const nn::Mamba2Trace& t, int64_t b, int64_t h0, int64_t h1, int64_t q_only, T* out) {
  const HeadTerms<T> k(t, b);
  const int64_t L = k.L;
  const int64_t i0 = q_only >= 0 ? q_only : 0, i1 = q_only >= 0 ? q_only + 1 : L;
  parallel_for((h1 - h0) * (i1 - i0), 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t h = h0 + r / (i1 - i0), i = i0 + r % (i1 - i0);
      k.row(h, i, out + (h - h0) * (q_only >= 0 ? L : L * L) + (q_only >= 0 ? 0 : i * L));
    }
  });
}

}  // namespace

Tensor head_attention_matrices(const nn::Mamba2Trace& t, int64_t batch, int64_t h0, int64_t h1) {
  const int64_t H = t.delta.size(1), L = t.delta.size(2);
  HATTN_CHECK_INPUT(0 <= h0 && h0 < h1 && h1 <= H, "head attention: head range ", h0, ":", h1,
                    " must satisfy 0 <= A < B <= ", H);
  Tensor out = Tensor::zeros({h1 - h0, L, L}, t.delta.dtype());
  dispatch_floating(out.dtype(), "head_attention_matrices", [&](auto tag) {
    fill_rows<decltype(tag)>(t, batch, h0, h1, -1, out.data<decltype(tag)>());
  });
  return out;
}

Tensor head_rows(const nn::Mamba2Trace& t, int64_t batch, int64_t q) {
  const int64_t H = t.delta.size(1), L = t.delta.size(2);
  HATTN_CHECK(q >= 0 && q < L, "head attention: query ", q, " out of range for ", L, " tokens");
  Tensor out = Tensor::zeros({H, L}, t.delta.dtype());
  dispatch_floating(out.dtype(), "head_rows", [&](auto tag) {
    fill_rows<decltype(tag)>(t, batch, 0, H, q, out.data<decltype(tag)>());
  });
  return out;
}

HeadAttentionStats head_attention_stats(const nn::Mamba2Trace& t, int64_t batch) {
  HeadAttentionStats s;
  dispatch_floating(t.delta.dtype(), "head_attention_stats", [&](auto tag) {
    using T = decltype(tag);
    const HeadTerms<T> k(t, batch);
    const int64_t H = k.H, L = k.L;
    s.mean = Tensor::zeros({L, L}, DType::F64);
    s.mean_relu = Tensor::zeros({L, L}, DType::F64);
    double* pm = s.mean.data<double>();
    double* pr = s.mean_relu.data<double>();
    // rows are independent: each row's sums over heads run in head order on one thread
    std::vector<T> lo(L, L > 1 ? T(0) : std::numeric_limits<T>::infinity()),
        hi(L, L > 1 ? T(0) : -std::numeric_limits<T>::infinity());  // the zeros above the diagonal count
    parallel_for(L, 4, [&](int64_t i0, int64_t i1) {
      std::vector<T> a(L);
      for (int64_t i = i0; i < i1; ++i) {
        double* m = pm + i * L;
        double* r = pr + i * L;
        for (int64_t h = 0; h < H; ++h) {
          k.row(h, i, a.data());
          for (int64_t j = 0; j <= i; ++j) {
            m[j] += double(a[j]);
            r[j] += double(a[j] > T(0) ? a[j] : T(0));
            lo[i] = std::min(lo[i], a[j]);
            hi[i] = std::max(hi[i], a[j]);
          }
        }
        for (int64_t j = 0; j <= i; ++j) m[j] /= double(H), r[j] /= double(H);
      }
    });
    s.min = double(*std::min_element(lo.begin(), lo.end()));
    s.max = double(*std::max_element(hi.begin(), hi.end()));
  });
  return s;
}

}  // namespace ha::xai
