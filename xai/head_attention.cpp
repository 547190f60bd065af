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

// One batch item's trace on a CUDA device, float32, with the prefix sums S = cumsum Δ (double): the kernels' views.
struct HeadFactorsOnDevice {
  Tensor delta, A, B, C, S;
  cuda::HeadView view{};
  HeadFactorsOnDevice(const nn::Mamba2Trace& t, int64_t b, Device where) {
    const HeadFactors f(t, b);
    HATTN_CHECK(t.groups > 0 && f.GN % t.groups == 0 && f.H % t.groups == 0, "head attention: ", f.H, " heads and ",
                f.GN, " B/C rows in ", t.groups, " groups do not divide");
    auto on = [&](const Tensor& x) { return x.to(DType::F32).contiguous().to(where); };
    delta = on(f.delta), A = on(f.A), B = on(f.B), C = on(f.C);
    std::vector<double> s = f.delta.to_vector<double>();
    for (int64_t h = 0; h < f.H; ++h)
      for (int64_t i = 1; i < f.T; ++i) s[h * f.T + i] += s[h * f.T + i - 1];
    S = Tensor::from_vector(s, {f.H, f.T}).to(where);
    view = {f.H, t.groups, f.GN / t.groups, f.T, delta.data<float>(), A.data<float>(), B.data<float>(),
            C.data<float>()};
  }
  cuda::ScanView scan() const {
    return {view.H, view.L, view.N, view.G, false, view.delta, view.A, view.B, view.C};
  }
};

// Rows [i0, i1) of the per-group Gram matrices C Bᵀ, (G, i1 − i0, T) in double (one GEMM each, shared by the
// group's heads), and the per-head prefix sums S_i = Σ_{k≤i} Δ_k in double: α_h[i,j] = CB_g[i,j] · exp(A_h (S_i − S_j)) · Δ_h[j].
template <class T>
struct HeadTerms {
  HeadFactors f;
  int64_t H, L, G, N, i0, rows;
  std::vector<double> CB, S;  // (G, rows, L), (H, L)
  const T *delta, *A;

  HeadTerms(const nn::Mamba2Trace& t, int64_t b, int64_t first_row, int64_t end_row)
      : f(t, b), H(f.H), L(f.T), G(t.groups), i0(first_row), rows(end_row - first_row) {
    HATTN_CHECK(G > 0 && f.GN % G == 0 && H % G == 0, "head attention: ", H, " heads and ", f.GN, " B/C rows in ",
                G, " groups do not divide");
    N = f.GN / G;
    const std::vector<double> B = f.B.template to_vector<double>(), C = f.C.template to_vector<double>();
    CB.resize(G * rows * L);
    for (int64_t g = 0; g < G; ++g)  // rows of (C_g)ᵀ (L, N) times B_g (N, L): strided views, no copies
      cpu::gemm<double>(rows, L, N, 1.0, &C[g * N * L + i0], 1, L, &B[g * N * L], L, 1, 0.0, &CB[g * rows * L], L);
    delta = f.delta.template data<T>();
    A = f.A.template data<T>();
    S.resize(H * L);
    for (int64_t h = 0; h < H; ++h) {
      double acc = 0;
      for (int64_t i = 0; i < L; ++i) S[h * L + i] = (acc += double(delta[h * L + i]));
    }
  }
  // α_h[i, 0..i] into out[0..i], in T (as the matrices are stored); i in [i0, i0 + rows)
  void row(int64_t h, int64_t i, T* out) const {
    const double* cb = &CB[((h / (H / G)) * rows + i - i0) * L];
    const double* Sh = &S[h * L];
    const double a = double(A[h]), Si = Sh[i];
    const T* d = delta + h * L;
    for (int64_t j = 0; j <= i; ++j) out[j] = static_cast<T>(cb[j] * std::exp(a * (Si - Sh[j])) * double(d[j]));
  }
};

template <class T>
void fill_rows(const nn::Mamba2Trace& t, int64_t b, int64_t h0, int64_t h1, int64_t q_only, T* out) {
  const int64_t L = t.delta.size(2);
  const int64_t i0 = q_only >= 0 ? q_only : 0, i1 = q_only >= 0 ? q_only + 1 : L;
  const HeadTerms<T> k(t, b, i0, i1);
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

Tensor head_rows(const nn::Mamba2Trace& t, int64_t batch, int64_t q, Device where) {
  const int64_t H = t.delta.size(1), L = t.delta.size(2);
  HATTN_CHECK(q >= 0 && q < L, "head attention: query ", q, " out of range for ", L, " tokens");
  if (where.is_cuda()) {
    NoGradGuard ng;
    const HeadFactorsOnDevice d(t, batch, where);
    Tensor out = Tensor::empty({H, L}, DType::F32, where);
    cuda::head_rows(d.view, d.S.data<double>(), q, out.data<float>(), where.index);
    return out.to(Device::cpu());
  }
  Tensor out = Tensor::zeros({H, L}, t.delta.dtype());
  dispatch_floating(out.dtype(), "head_rows", [&](auto tag) {
    fill_rows<decltype(tag)>(t, batch, 0, H, q, out.data<decltype(tag)>());
  });
  return out;
}

CausalAttentionStats head_attention_stats(const nn::Mamba2Trace& t, int64_t batch, Device where) {
  if (where.is_cuda()) {  // one thread per entry, on the device
    NoGradGuard ng;
    const HeadFactorsOnDevice d(t, batch, where);
    CausalStatsOnDevice s(d.view.L, where);
    cuda::head_stats(d.view, d.S.data<double>(), s.out, where.index);
    return s.result();
  }
  CausalAttentionStats s;
  dispatch_floating(t.delta.dtype(), "head_attention_stats", [&](auto tag) {
    using T = decltype(tag);
    const HeadTerms<T> k(t, batch, 0, t.delta.size(2));
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

namespace {
// For every head h: out_h = product(h, ...) over the T tokens, in double; returns the mean over heads (head order).
template <class F>
Tensor head_mean_of(const nn::Mamba2Trace& t, int64_t batch, F product) {
  const HeadFactors f(t, batch);
  const int64_t H = f.H, L = f.T, G = t.groups;
  HATTN_CHECK(G > 0 && f.GN % G == 0 && H % G == 0, "head attention: ", H, " heads and ", f.GN, " B/C rows in ", G,
              " groups do not divide");
  const int64_t N = f.GN / G;
  const std::vector<double> delta = f.delta.to_vector<double>(), A = f.A.to_vector<double>(),
                            B = f.B.to_vector<double>(), C = f.C.to_vector<double>();
  std::vector<double> per_head(H * L);
  parallel_for(H, 1, [&](int64_t h0, int64_t h1) {
    std::vector<double> decay(L), state(N);
    for (int64_t h = h0; h < h1; ++h) {
      const int64_t g = h / (H / G);
      for (int64_t i = 0; i < L; ++i) decay[i] = std::exp(A[h] * delta[h * L + i]);
      product(&delta[h * L], decay.data(), &B[g * N * L], &C[g * N * L], N, L, state, &per_head[h * L]);
    }
  });
  std::vector<double> mean(L, 0.0);
  for (int64_t h = 0; h < H; ++h)
    for (int64_t i = 0; i < L; ++i) mean[i] += per_head[h * L + i];
  for (double& v : mean) v /= double(H);
  return Tensor::from_vector(mean, {L});
}
}  // namespace

Tensor head_mean_row_sums(const nn::Mamba2Trace& t, int64_t batch, Device where) {
  if (where.is_cuda() && t.Bm.size(1) / t.groups <= cuda::kMaxScanStates)
    return mean_scan_on_device(HeadFactorsOnDevice(t, batch, where).scan(), Tensor(), where);
  // the scan of a constant input: s_i = e_i s_{i−1} + Δ_i B_i (N states, B and C (N, T)), out_i = C_i · s_i
  return head_mean_of(t, batch, [](const double* delta, const double* e, const double* B, const double* C, int64_t N,
                                   int64_t L, std::vector<double>& s, double* out) {
    std::fill(s.begin(), s.end(), 0.0);
    for (int64_t i = 0; i < L; ++i) {
      double acc = 0;
      for (int64_t n = 0; n < N; ++n) {
        s[n] = e[i] * s[n] + delta[i] * B[n * L + i];
        acc += C[n * L + i] * s[n];
      }
      out[i] = acc;
    }
  });
}

Tensor head_mean_vecmat(const nn::Mamba2Trace& t, int64_t batch, const Tensor& w_in, Device where) {
  if (where.is_cuda() && t.Bm.size(1) / t.groups <= cuda::kMaxScanStates)
    return mean_scan_on_device(HeadFactorsOnDevice(t, batch, where).scan(), w_in, where);
  const std::vector<double> w = w_in.to(DType::F64).contiguous().to_vector<double>();
  HATTN_CHECK(static_cast<int64_t>(w.size()) == t.delta.size(2), "head_mean_vecmat: a vector of ", w.size(),
              " entries for ", t.delta.size(2), " tokens");
  // reverse time: g_j = w_j C_j + e_{j+1} g_{j+1}, out_j = Δ_j B_j · g_j
  return head_mean_of(t, batch, [&](const double* delta, const double* e, const double* B, const double* C,
                                    int64_t N, int64_t L, std::vector<double>& g, double* out) {
    std::fill(g.begin(), g.end(), 0.0);
    for (int64_t j = L - 1; j >= 0; --j) {
      const double carry = j + 1 < L ? e[j + 1] : 0.0;
      double acc = 0;
      for (int64_t n = 0; n < N; ++n) {
        g[n] = w[j] * C[n * L + j] + carry * g[n];
        acc += B[n * L + j] * g[n];
      }
      out[j] = delta[j] * acc;
    }
  });
}

}  // namespace ha::xai
