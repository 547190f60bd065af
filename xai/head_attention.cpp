#include "xai/head_attention.h"

#include <cmath>

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

template <class T>
void fill_rows(const nn::Mamba2Trace& t, int64_t b, int64_t h0, int64_t h1, int64_t q_only, T* out) {
  HeadFactors f(t, b);
  const int64_t H = f.H, L = f.T, GN = f.GN;
  const int64_t G = t.groups, N = GN / G;
  HATTN_CHECK(G > 0 && GN % G == 0 && H % G == 0, "head attention: ", H, " heads and ", GN, " B/C rows in ", G,
              " groups do not divide");
  const T* delta = f.delta.template data<T>();
  const T* Bp = f.B.template data<T>();
  const T* Cp = f.C.template data<T>();
  const T* A = f.A.template data<T>();
  parallel_for(h1 - h0, 1, [&](int64_t k0, int64_t k1) {
    std::vector<double> S(L);
    for (int64_t k = k0; k < k1; ++k) {
      const int64_t h = h0 + k, g = h / (H / G);
      const T* d = delta + h * L;
      double acc = 0;
      for (int64_t i = 0; i < L; ++i) S[i] = (acc += double(d[i]));
      const int64_t i0 = q_only >= 0 ? q_only : 0, i1 = q_only >= 0 ? q_only + 1 : L;
      T* M = out + k * (q_only >= 0 ? L : L * L);
      for (int64_t i = i0; i < i1; ++i) {
        T* row = M + (q_only >= 0 ? 0 : i * L);
        for (int64_t j = 0; j <= i; ++j) {
          double cb = 0;
          for (int64_t n = 0; n < N; ++n) cb += double(Cp[(g * N + n) * L + i]) * double(Bp[(g * N + n) * L + j]);
          row[j] = static_cast<T>(cb * std::exp(double(A[h]) * (S[i] - S[j])) * double(d[j]));
        }
      }
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

}  // namespace ha::xai
