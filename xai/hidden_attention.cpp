#include "xai/hidden_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "ops/cpu/vec.h"
#include "ops/dispatch.h"
#include "ops/ops.h"
#include "ops/scalar_math.h"
#include "tensor/parallel.h"
#include "xai/cuda/hidden_attention_cuda.h"

namespace ha::xai {
namespace {

// One row of the running product over `width` columns of Q (N rows of stride ld, a multiple of the vector width):
// the columns before `newest` advance by one decay factor e[n], the newest (its drive, just written) and any
// beyond it (still 0) are multiplied by 1; out[w] = Σ_n c[n] Q[n][w].
void advance_columns(float* Q, int64_t ld, int64_t width, int64_t newest, const float* e, const float* c, int64_t N,
                     float* out) {
  using cpu::VecF;
  constexpr int64_t W = cpu::kLanesF;
  for (int64_t w = 0; w < width; w += W) {
    VecF acc{};
    VecF keep{};  // lanes at or beyond the newest column: multiply by 1
    if (w + W > newest)
      for (int64_t l = 0; l < W; ++l) keep[l] = w + l >= newest ? 1.f : 0.f;
    for (int64_t n = 0; n < N; ++n) {
      const VecF en = cpu::fmadd(1.f - keep, cpu::splat(e[n]), keep);
      const VecF q = cpu::load(&Q[n * ld + w]) * en;
      cpu::store(&Q[n * ld + w], q);
      acc = cpu::fmadd(q, c[n], acc);
    }
    cpu::store(&out[w], acc);
  }
}

// One direction of one batch item, contiguous and in the compute type.
template <class T>
struct Factors {
  int64_t E = 0, L = 0, N = 0, K = 0;
  std::vector<T> delta, A, Bt, Ct, z, pre, w;  // delta, z, pre (E, L); A (E, N); Bt, Ct (L, N); w (E, K)

  Factors(const nn::DirectionTrace& t, int64_t b) {
    HATTN_CHECK(t.delta.defined(), "hidden attention: the forward pass was run without traces");
    E = t.delta.size(1), L = t.delta.size(2), N = t.A.size(1), K = t.conv_weight.size(1);
    HATTN_CHECK(b >= 0 && b < t.delta.size(0), "hidden attention: batch index ", b, " out of range");
    auto take = [&](const Tensor& x) { return x.to(dtype_of<T>::value).contiguous().template to_vector<T>(); };
    delta = take(t.delta.select(0, b));
    A = take(t.A);
    Bt = take(t.Bm.select(0, b).transpose(0, 1));
    Ct = take(t.Cm.select(0, b).transpose(0, 1));
    z = take(t.z.select(0, b));
    pre = take(t.pre.select(0, b));
    w = take(t.conv_weight);
  }

  // Per channel: decay E_t[n] = exp(Δ_t A_n) and drive Δ_t B_t[n], each (L, N); rows up to `last` only
  // need t ≤ last.
  void channel(int64_t d, std::vector<T>& decay, std::vector<T>& drive, int64_t last = -1) const {
    decay.resize(L * N);
    drive.resize(L * N);
    for (int64_t t = 0; t <= (last < 0 ? L - 1 : last); ++t) {
      const T dt = delta[d * L + t];
      for (int64_t n = 0; n < N; ++n) drive[t * N + n] = dt * Bt[t * N + n];
      if constexpr (std::is_same_v<T, float>) {
        if (N % cpu::kLanesF == 0) {  // the L·N exps dominate a row: vectorised
          for (int64_t n = 0; n < N; n += cpu::kLanesF)
            cpu::store(&decay[t * N + n], cpu::vexp(cpu::load(&A[d * N + n]) * dt));
          continue;
        }
      }
      for (int64_t n = 0; n < N; ++n) decay[t * N + n] = std::exp(dt * A[d * N + n]);
    }
  }

  // Every row of the channel's matrix, i = 0..L−1, handed to emit(i, row) with row[0..i] valid. The
  // running product, organised by columns: Q[n][j] = drive_j[n] · Π_{k=j+1..i} decay_k[n] is kept for all
  // j ≤ i and advanced by one factor per row, so row i = Σ_n C_i[n] Q[n][j]. The j of a block sit side
  // by side (vector lanes), n is the inner loop: no horizontal sums, O(L² N) multiply-adds per matrix.
  template <class Emit>
  void matrix(const std::vector<T>& decay, const std::vector<T>& drive, std::vector<T>& Q, std::vector<T>& row,
              Emit emit) const {
    constexpr int64_t kJ = 16;  // a multiple of every vector width
    const int64_t Lp = (L + kJ - 1) / kJ * kJ;
    Q.assign(N * Lp, T(0));
    row.resize(Lp);
    for (int64_t i = 0; i < L; ++i) {
      const T* e = &decay[i * N];
      const T* c = &Ct[i * N];
      for (int64_t n = 0; n < N; ++n) Q[n * Lp + i] = drive[i * N + n];  // the new column: no decay yet
      // columns j < i advance by e; the block holding i advances only its j < i (beyond i, Q is still 0)
      for (int64_t j0 = 0; j0 <= i; j0 += kJ) {
        if constexpr (std::is_same_v<T, float>) {
          advance_columns(&Q[j0], Lp, kJ, i - j0, e, c, N, &row[j0]);
        } else {
          T acc[kJ] = {};
          for (int64_t n = 0; n < N; ++n) {
            T* q = &Q[n * Lp + j0];
            for (int64_t j = 0; j < kJ; ++j) {
              if (j0 + j < i) q[j] *= e[n];
              acc[j] += c[n] * q[j];
            }
          }
          std::copy(acc, acc + kJ, &row[j0]);
        }
      }
      emit(i, row.data());
    }
  }

  // Every row of the channel's matrix in order: the blocked form for float, matrix() otherwise.
  template <class Emit>
  void rows_in_order(const std::vector<T>& decay, const std::vector<T>& drive, std::vector<T>& Q, std::vector<T>& Qd,
                     std::vector<T>& row, Emit emit) const {
    if constexpr (std::is_same_v<T, float>) matrix_blocked(decay, drive, Q, Qd, row, emit);
    else matrix(decay, drive, Q, row, emit);
  }
  // The same rows as matrix() for float, by blocks of kB rows starting at r0. For j < r0 ≤ i the running product
  // splits at r0:  α[i,j] = Σ_n (C_i[n] Π_{k=r0..i} decay_k[n]) · (drive_j[n] Π_{k=j+1..r0−1} decay_k[n]),
  // where the right factor (D, matrix()'s Q after row r0 − 1) stays fixed over the block: the off-diagonal part of
  // a row is a (1×N)·(N×r0) product, loads and FMAs only, and D advances once per block (O(L²N/kB) in all).
  // Both factors are ≤ their product's magnitude, so neither overflows. The diagonal block runs matrix()'s
  // running product on its own kB columns.
  template <class Emit>
  void matrix_blocked(const std::vector<float>& decay, const std::vector<float>& drive, std::vector<float>& D,
                      std::vector<float>& Qd, std::vector<float>& row, Emit emit) const {
    static_assert(std::is_same_v<T, float>);
    using cpu::VecF;
    constexpr int64_t W = cpu::kLanesF, kB = 64, kChunk = 4 * W;  // kB and kChunk: multiples of every W
    const int64_t Lp = (L + kB - 1) / kB * kB;
    D.assign(N * Lp, 0.f);
    Qd.assign(N * kB, 0.f);
    row.assign(Lp, 0.f);
    thread_local std::vector<float> P, Ch;
    P.resize(N), Ch.resize(N);
    for (int64_t r0 = 0; r0 < L; r0 += kB) {
      const int64_t r1 = std::min(L, r0 + kB);
      std::fill(P.begin(), P.end(), 1.f);
      std::fill(Qd.begin(), Qd.end(), 0.f);
      for (int64_t i = r0; i < r1; ++i) {
        const float* e = &decay[i * N];
        const float* c = &Ct[i * N];
        for (int64_t n = 0; n < N; ++n) P[n] *= e[n], Ch[n] = c[n] * P[n];
        // off the diagonal block: j < r0, in chunks of 4 vectors kept in registers over n
        for (int64_t j0 = 0; j0 < r0; j0 += kChunk) {
          VecF acc[4] = {};
          for (int64_t n = 0; n < N; ++n) {
            const VecF cn = cpu::splat(Ch[n]);
            const float* d = &D[n * Lp + j0];
            for (int64_t k = 0; k < 4; ++k) acc[k] = cpu::fmadd(cn, cpu::load(d + k * W), acc[k]);
          }
          for (int64_t k = 0; k < 4; ++k) cpu::store(&row[j0 + k * W], acc[k]);
        }
        // the diagonal block, columns r0..i: matrix()'s running product on kB columns
        const int64_t ii = i - r0;
        for (int64_t n = 0; n < N; ++n) Qd[n * kB + ii] = drive[i * N + n];
        advance_columns(Qd.data(), kB, (ii / W + 1) * W, ii, e, c, N, &row[r0]);
        emit(i, row.data());
      }
      // advance D to the next block: old columns times the block's decay, the block's columns from Qd
      for (int64_t n = 0; n < N; ++n) {
        const VecF g = cpu::splat(P[n]);
        float* d = &D[n * Lp];
        for (int64_t j = 0; j < r0; j += W) cpu::store(d + j, cpu::load(d + j) * g);
        std::copy(&Qd[n * kB], &Qd[n * kB] + (r1 - r0), d + r0);
      }
    }
  }
  // out[j] = Σ_n q[n] · Π_{k=j+1..start} decay_k[n] · drive_j[n] for j = start, ..., 0 (the running product).
  void row(const std::vector<T>& decay, const std::vector<T>& drive, const T* q, int64_t start, T* out,
           std::vector<T>& P) const {
    if constexpr (std::is_same_v<T, float>) {
      if (N == cpu::kLanesF) {  // the states in one register (Vim's N = 16 with AVX-512)
        thread_local std::vector<cpu::VecF> terms;  // the horizontal sums batched after the running product
        terms.resize(start + 1);
        cpu::VecF p = cpu::splat(1.f);
        const cpu::VecF qv = cpu::load(q);
        for (int64_t j = start; j >= 0; --j) {
          terms[j] = qv * p * cpu::load(&drive[j * N]);
          p *= cpu::load(&decay[j * N]);
        }
        cpu::hsum_rows(terms.data(), start + 1, out);
        return;
      }
    }
    P.assign(N, T(1));
    for (int64_t j = start; j >= 0; --j) {
      const T* dr = &drive[j * N];
      const T* de = &decay[j * N];
      T acc = 0;
      for (int64_t n = 0; n < N; ++n) acc += q[n] * P[n] * dr[n];
      out[j] = acc;
      for (int64_t n = 0; n < N; ++n) P[n] *= de[n];
    }
  }
};

template <class T>
void rows_impl(const nn::DirectionTrace& t, int64_t b, int64_t q, RowKind kind, Tensor& out) {
  Factors<T> f(t, b);
  HATTN_CHECK(q >= 0 && q < f.L, "hidden attention: row ", q, " out of range for ", f.L, " tokens");
  out = Tensor::zeros({f.E, f.L}, dtype_of<T>::value);
  T* o = out.data<T>();
  parallel_for(f.E, 8, [&](int64_t d0, int64_t d1) {
    std::vector<T> decay, drive, P, alpha(f.L);
    for (int64_t d = d0; d < d1; ++d) {
      f.channel(d, decay, drive, q);
      const T* Cq = &f.Ct[q * f.N];
      if (kind == RowKind::Official) {
        if (q > 0) f.row(decay, drive, Cq, q - 1, o + d * f.L, P);  // Π_{k=j+1..q−1}: C_q / exp(Δ_q A), no diagonal
        continue;
      }
      f.row(decay, drive, Cq, q, alpha.data(), P);
      if (kind == RowKind::Exact) {
        std::copy(alpha.begin(), alpha.begin() + q + 1, o + d * f.L);
        continue;
      }
      // Unified: α̂[q, j] = SiLU(z_q) Σ_{c=j..min(j+K−1, q)} w[j−c+K−1] σ(pre_c) α[q, c]
      const T zq = f.z[d * f.L + q], gate = zq * scalar::sigmoid(zq);
      for (int64_t c = 0; c <= q; ++c) alpha[c] *= scalar::sigmoid(f.pre[d * f.L + c]);
      const T* w = &f.w[d * f.K];
      for (int64_t j = 0; j <= q; ++j) {
        T acc = 0;
        for (int64_t c = j; c <= std::min(j + f.K - 1, q); ++c) acc += w[j - c + f.K - 1] * alpha[c];
        o[d * f.L + j] = gate * acc;
      }
    }
  });
}

// The GPU path: float32 traces on a CUDA device with at most 16 states (Vim's N).
bool on_gpu(const nn::DirectionTrace& t) {
  return t.delta.defined() && t.delta.device().is_cuda() && t.delta.dtype() == DType::F32 &&
         t.A.size(1) <= cuda::kMaxStates;
}

// Contiguous device views of one batch item, alive as long as this struct.
struct GpuTrace {
  Tensor delta, A, B, C, z, pre, w;
  cuda::TraceView view{};
  GpuTrace(const nn::DirectionTrace& t, int64_t b) {
    HATTN_CHECK(b >= 0 && b < t.delta.size(0), "hidden attention: batch index ", b, " out of range");
    delta = t.delta.select(0, b).contiguous();
    A = t.A.contiguous();
    B = t.Bm.select(0, b).contiguous();
    C = t.Cm.select(0, b).contiguous();
    z = t.z.select(0, b).contiguous();
    pre = t.pre.select(0, b).contiguous();
    w = t.conv_weight.contiguous();
    view = {delta.size(0), delta.size(1), A.size(1), w.size(1), delta.data<float>(), A.data<float>(), B.data<float>(),
            C.data<float>(), z.data<float>(), pre.data<float>(), w.data<float>()};
  }
};

}  // namespace

Direction parse_direction(const std::string& s) {
  if (s == "fwd") return Direction::Fwd;
  if (s == "bwd") return Direction::Bwd;
  if (s == "sum") return Direction::Sum;
  throw InputError(str("unknown direction '", s, "' (choose fwd, bwd or sum)"));
}

const char* direction_name(Direction d) { return d == Direction::Fwd ? "fwd" : d == Direction::Bwd ? "bwd" : "sum"; }

Tensor direction_rows(const nn::DirectionTrace& t, int64_t batch, int64_t q, RowKind kind, Device where) {
  if (where.is_cuda() && !t.delta.device().is_cuda() && t.A.size(1) <= cuda::kMaxStates) {
    NoGradGuard ng;
    auto on = [&](const Tensor& x) { return x.select(0, batch).unsqueeze(0).to(DType::F32).contiguous().to(where); };
    auto whole = [&](const Tensor& x) { return x.to(DType::F32).contiguous().to(where); };
    nn::DirectionTrace d;
    d.delta = on(t.delta), d.Bm = on(t.Bm), d.Cm = on(t.Cm), d.z = on(t.z), d.pre = on(t.pre);
    d.A = whole(t.A), d.conv_weight = whole(t.conv_weight);
    return direction_rows(d, 0, q, kind).to(Device::cpu());
  }
  if (on_gpu(t)) {
    NoGradGuard ng;
    const GpuTrace g(t, batch);
    Tensor out = Tensor::zeros({g.view.E, g.view.L}, DType::F32, t.delta.device());
    const cuda::Row k = kind == RowKind::Exact ? cuda::Row::Exact : kind == RowKind::Official ? cuda::Row::Official
                                                                                              : cuda::Row::Unified;
    cuda::rows(g.view, q, k, out.data<float>(), t.delta.device().index);
    return out;
  }
  Tensor out;
  dispatch_floating(t.delta.dtype(), "direction_rows", [&](auto tag) { rows_impl<decltype(tag)>(t, batch, q, kind, out); });
  return out;
}

Tensor cls_rows(const nn::MixerTrace& m, int64_t batch, int64_t cls, RowKind kind) {
  NoGradGuard ng;
  const int64_t L = m.fwd.delta.size(2);
  HATTN_CHECK(cls >= 0 && cls < L, "cls_rows: cls index ", cls, " out of range for ", L, " tokens");
  Tensor f = direction_rows(m.fwd, batch, cls, kind);
  Tensor b = direction_rows(m.bwd, batch, L - 1 - cls, kind).flip(1).contiguous();  // back to original order
  if (kind != RowKind::Official) return add(f, b);
  // the released splice: forward before cls, zero at cls, backward after
  Tensor out = f.clone();
  raw::narrow(out, 1, cls, L - cls).copy_(raw::narrow(b, 1, cls, L - cls));
  raw::narrow(out, 1, cls, 1).copy_(Tensor::zeros({out.size(0), 1}, out.dtype(), out.device()));
  return out;
}

template <class T>
static void matrices_impl(const nn::DirectionTrace& t, int64_t b, int64_t c0, int64_t c1, bool reversed, T* out) {
  Factors<T> f(t, b);
  const int64_t L = f.L;
  parallel_for(c1 - c0, 1, [&](int64_t k0, int64_t k1) {
    std::vector<T> decay, drive, Q, row;
    for (int64_t k = k0; k < k1; ++k) {
      f.channel(c0 + k, decay, drive);
      T* M = out + k * L * L;
      f.matrix(decay, drive, Q, row, [&](int64_t i, const T* r) {
        if (reversed) {
          T* Mi = M + (L - 1 - i) * L + (L - 1);
          for (int64_t j = 0; j <= i; ++j) Mi[-j] += r[j];
        } else {
          T* Mi = M + i * L;
          for (int64_t j = 0; j <= i; ++j) Mi[j] += r[j];
        }
      });
    }
  });
}

Tensor attention_matrices(const nn::MixerTrace& m, Direction d, int64_t batch, int64_t c0, int64_t c1) {
  const int64_t E = m.fwd.delta.size(1), L = m.fwd.delta.size(2);
  HATTN_CHECK_INPUT(0 <= c0 && c0 < c1 && c1 <= E, "attention_matrices: channel range ", c0, ":", c1,
                    " must satisfy 0 <= A < B <= ", E);
  if (on_gpu(m.fwd) && on_gpu(m.bwd) && L <= cuda::kMaxTokens) {  // on the device, returned there
    NoGradGuard ng;
    const Device dev = m.fwd.delta.device();
    Tensor out = Tensor::zeros({c1 - c0, L, L}, DType::F32, dev);
    if (d != Direction::Bwd) cuda::matrices(GpuTrace(m.fwd, batch).view, c0, c1, false, out.data<float>(), dev.index);
    if (d != Direction::Fwd) cuda::matrices(GpuTrace(m.bwd, batch).view, c0, c1, true, out.data<float>(), dev.index);
    return out;
  }
  Tensor out = Tensor::zeros({c1 - c0, L, L}, m.fwd.delta.dtype());
  dispatch_floating(out.dtype(), "attention_matrices", [&](auto tag) {
    using T = decltype(tag);
    if (d != Direction::Bwd) matrices_impl<T>(m.fwd, batch, c0, c1, false, out.data<T>());
    if (d != Direction::Fwd) matrices_impl<T>(m.bwd, batch, c0, c1, true, out.data<T>());
  });
  return out;
}

LayerAttentionStats layer_attention_stats(const nn::MixerTrace& m, int64_t batch) {
  const int64_t E = m.fwd.delta.size(1), L = m.fwd.delta.size(2);
  constexpr int64_t kBlock = 16;  // fixed channel blocks: results independent of the thread count
  const int64_t blocks = (E + kBlock - 1) / kBlock;
  LayerAttentionStats s;
  dispatch_floating(m.fwd.delta.dtype(), "layer_attention_stats", [&](auto tag) {
    using T = decltype(tag);
    Factors<T> ff(m.fwd, batch), fb(m.bwd, batch);
    // per block: sums of α_f, α_b, max(F,0) (each L×L, in double) and the block's min/max of F
    std::vector<double> part(blocks * 3 * L * L, 0.0), lo(blocks, INFINITY), hi(blocks, -INFINITY);
    parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
      std::vector<T> decay, drive, Q, row, Mf(L * L), Mb(L * L);
      for (int64_t blk = b0; blk < b1; ++blk) {
        double* sf = &part[(blk * 3 + 0) * L * L];
        double* sb = &part[(blk * 3 + 1) * L * L];
        double* sr = &part[(blk * 3 + 2) * L * L];
        for (int64_t d = blk * kBlock; d < std::min(E, (blk + 1) * kBlock); ++d) {
          std::fill(Mf.begin(), Mf.end(), T(0));
          std::fill(Mb.begin(), Mb.end(), T(0));
          ff.channel(d, decay, drive);
          ff.matrix(decay, drive, Q, row, [&](int64_t i, const T* r) { std::copy(r, r + i + 1, &Mf[i * L]); });
          fb.channel(d, decay, drive);
          fb.matrix(decay, drive, Q, row, [&](int64_t i, const T* r) {
            for (int64_t j = 0; j <= i; ++j) Mb[(L - 1 - i) * L + (L - 1 - j)] = r[j];
          });
          for (int64_t k = 0; k < L * L; ++k) {
            const double F = double(Mf[k]) + double(Mb[k]);
            sf[k] += Mf[k];
            sb[k] += Mb[k];
            sr[k] += F > 0 ? F : 0;
            lo[blk] = std::min(lo[blk], F);
            hi[blk] = std::max(hi[blk], F);
          }
        }
      }
    });
    auto mean_of = [&](int which) {
      Tensor t = Tensor::zeros({L, L}, dtype_of<T>::value);
      T* p = t.data<T>();
      for (int64_t k = 0; k < L * L; ++k) {
        double acc = 0;
        for (int64_t blk = 0; blk < blocks; ++blk) acc += part[(blk * 3 + which) * L * L + k];
        p[k] = static_cast<T>(acc / E);
      }
      return t;
    };
    s.mean_fwd = mean_of(0);
    s.mean_bwd = mean_of(1);
    s.mean_relu_sum = mean_of(2);
    s.mean_sum = add(s.mean_fwd, s.mean_bwd);
    s.min_sum = *std::min_element(lo.begin(), lo.end());
    s.max_sum = *std::max_element(hi.begin(), hi.end());
  });
  return s;
}

namespace {
// sum[j] += a[j], sum_relu[j] += max(a[j], 0) in double, and a's extremes, for the whole vectors of a[0..n);
// returns how far it got (the caller finishes the tail).
int64_t accumulate_row(const float* a, int64_t n, double* __restrict sum, double* __restrict sum_relu, float& lo,
                       float& hi) {
  using cpu::VecF;
  constexpr int64_t W = cpu::kLanesF, H = W / 2;
  typedef float HalfF __attribute__((vector_size(cpu::kVecBytes / 2)));
  typedef double VecD __attribute__((vector_size(cpu::kVecBytes)));
  VecF vlo = cpu::splat(lo), vhi = cpu::splat(hi);
  const VecF zero{};
  int64_t j = 0;
  for (; j + W <= n; j += W) {
    const VecF v = cpu::load(a + j);
    const VecF r = v > zero ? v : zero;
    vlo = v < vlo ? v : vlo;
    vhi = v > vhi ? v : vhi;
    for (int64_t h = 0; h < 2; ++h) {
      HalfF vh, rh;
      std::memcpy(&vh, reinterpret_cast<const char*>(&v) + h * sizeof vh, sizeof vh);
      std::memcpy(&rh, reinterpret_cast<const char*>(&r) + h * sizeof rh, sizeof rh);
      VecD s, sr;
      std::memcpy(&s, sum + j + h * H, sizeof s);
      std::memcpy(&sr, sum_relu + j + h * H, sizeof sr);
      s += __builtin_convertvector(vh, VecD);
      sr += __builtin_convertvector(rh, VecD);
      std::memcpy(sum + j + h * H, &s, sizeof s);
      std::memcpy(sum_relu + j + h * H, &sr, sizeof sr);
    }
  }
  for (int64_t l = 0; l < W; ++l) lo = std::min(lo, vlo[l]), hi = std::max(hi, vhi[l]);
  return j;
}
}  // namespace

namespace {
// Σ_{k≤i} Δ_k per row of a (rows, L) float tensor on the CPU, in double: (rows, L) float64
Tensor prefix_sums(const Tensor& delta) {
  const int64_t R = delta.size(0), L = delta.size(1);
  std::vector<double> d = delta.contiguous().to_vector<double>();
  for (int64_t r = 0; r < R; ++r)
    for (int64_t i = 1; i < L; ++i) d[r * L + i] += d[r * L + i - 1];
  return Tensor::from_vector(d, {R, L});
}
}  // namespace

CausalStatsOnDevice::CausalStatsOnDevice(int64_t L, Device where)
    : mean(Tensor::empty({L, L}, DType::F64, where)), mean_relu(Tensor::empty({L, L}, DType::F64, where)),
      lo(Tensor::empty({L, L}, DType::F32, where)), hi(Tensor::empty({L, L}, DType::F32, where)),
      out{mean.data<double>(), mean_relu.data<double>(), lo.data<float>(), hi.data<float>()} {}

CausalAttentionStats CausalStatsOnDevice::result() const {
  return {mean.to(Device::cpu()), mean_relu.to(Device::cpu()), amin(lo).item(), amax(hi).item()};
}

CausalAttentionStats causal_attention_stats(const nn::DirectionTrace& t, int64_t batch, Device where) {
  if (where.is_cuda() && t.A.size(1) <= cuda::kMaxStates) {  // one thread per entry, on the device
    NoGradGuard ng;
    auto on = [&](const Tensor& x) { return x.to(DType::F32).contiguous().to(where); };
    const Tensor delta = t.delta.select(0, batch).to(DType::F32).contiguous();
    const Tensor dl = on(delta), A = on(t.A), B = on(t.Bm.select(0, batch)), C = on(t.Cm.select(0, batch));
    const Tensor S = prefix_sums(delta).to(where);
    CausalStatsOnDevice s(delta.size(1), where);
    const cuda::TraceView v{delta.size(0), delta.size(1), A.size(1), 0, dl.data<float>(), A.data<float>(),
                            B.data<float>(), C.data<float>(), nullptr, nullptr, nullptr};
    cuda::channel_stats(v, S.data<double>(), s.out, where.index);
    return s.result();
  }
  const int64_t E = t.delta.size(1), L = t.delta.size(2);
  // Fixed channel ranges, summed in order: results independent of the thread count. Each range keeps two L×L
  // partial sums in double, so memory is 2·kRanges·L² doubles (256 MB at L = 2048), never C·L².
  constexpr int64_t kRanges = 8;
  const int64_t per = (E + kRanges - 1) / kRanges;
  CausalAttentionStats s;
  dispatch_floating(t.delta.dtype(), "causal_attention_stats", [&](auto tag) {
    using T = decltype(tag);
    Factors<T> f(t, batch);
    std::vector<double> part(kRanges * 2 * L * L, 0.0);
    constexpr T inf = std::numeric_limits<T>::infinity();
    std::vector<T> lo(kRanges, L > 1 ? T(0) : inf), hi(kRanges, L > 1 ? T(0) : -inf);  // the zeros above the diagonal
    parallel_for(kRanges, 1, [&](int64_t r0, int64_t r1) {
      std::vector<T> decay, drive, Q, Qd, row;
      for (int64_t r = r0; r < r1; ++r) {
        double* sum = &part[(r * 2 + 0) * L * L];
        double* sum_relu = &part[(r * 2 + 1) * L * L];
        T lo_r = lo[r], hi_r = hi[r];
        for (int64_t d = r * per; d < std::min(E, (r + 1) * per); ++d) {
          f.channel(d, decay, drive);
          f.rows_in_order(decay, drive, Q, Qd, row, [&](int64_t i, const T* a) {
            double* __restrict si = sum + i * L;
            double* __restrict ri = sum_relu + i * L;
            int64_t j = 0;
            if constexpr (std::is_same_v<T, float>) j = accumulate_row(a, i + 1, si, ri, lo_r, hi_r);
            for (; j <= i; ++j) {
              const T v = a[j];
              si[j] += double(v);
              ri[j] += double(v > T(0) ? v : T(0));
              lo_r = v < lo_r ? v : lo_r;
              hi_r = v > hi_r ? v : hi_r;
            }
          });
        }
        lo[r] = lo_r, hi[r] = hi_r;
      }
    });
    Tensor mean = Tensor::zeros({L, L}, DType::F64), mean_relu = Tensor::zeros({L, L}, DType::F64);
    double* pm = mean.data<double>();
    double* pr = mean_relu.data<double>();
    parallel_for(L, 8, [&](int64_t i0, int64_t i1) {
      for (int64_t k = i0 * L; k < i1 * L; ++k) {
        double a = 0, b = 0;
        for (int64_t r = 0; r < kRanges; ++r) a += part[(r * 2) * L * L + k], b += part[(r * 2 + 1) * L * L + k];
        pm[k] = a / double(E), pr[k] = b / double(E);
      }
    });
    s.mean = mean;
    s.mean_relu = mean_relu;
    s.min = double(*std::min_element(lo.begin(), lo.end()));
    s.max = double(*std::max_element(hi.begin(), hi.end()));
  });
  return s;
}

namespace {
// Fixed channel ranges for the products below, summed in order: results independent of the thread count.
constexpr int64_t kProductRanges = 8;

// For every channel d: out_d = product(d, decay, drive) (a vector over the L tokens, in double); returns their mean.
template <class T, class F>
Tensor channel_mean_of(const Factors<T>& f, F product) {
  const int64_t E = f.E, L = f.L, per = (E + kProductRanges - 1) / kProductRanges;
  std::vector<double> part(kProductRanges * L, 0.0);
  parallel_for(kProductRanges, 1, [&](int64_t r0, int64_t r1) {
    std::vector<T> decay, drive;
    std::vector<double> h(f.N), out(L);
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t d = r * per; d < std::min(E, (r + 1) * per); ++d) {
        f.channel(d, decay, drive);
        product(decay, drive, h, out);
        for (int64_t i = 0; i < L; ++i) part[r * L + i] += out[i];
      }
  });
  std::vector<double> mean(L, 0.0);
  for (int64_t r = 0; r < kProductRanges; ++r)
    for (int64_t i = 0; i < L; ++i) mean[i] += part[r * L + i];
  for (double& v : mean) v /= double(E);
  return Tensor::from_vector(mean, {L});
}
}  // namespace

namespace {
// One batch item of a causal direction on `where`, float32 and contiguous: the scans' inputs.
struct ScanFactorsOnDevice {
  Tensor delta, A, B, C;
  cuda::ScanView view{};
  ScanFactorsOnDevice(const nn::DirectionTrace& t, int64_t b, Device where) {
    HATTN_CHECK(b >= 0 && b < t.delta.size(0), "hidden attention: batch index ", b, " out of range");
    auto on = [&](const Tensor& x) { return x.to(DType::F32).contiguous().to(where); };
    delta = on(t.delta.select(0, b)), A = on(t.A), B = on(t.Bm.select(0, b)), C = on(t.Cm.select(0, b));
    view = {delta.size(0), delta.size(1), A.size(1), 1, true, delta.data<float>(), A.data<float>(), B.data<float>(),
            C.data<float>()};
  }
};
}  // namespace

Tensor mean_scan_on_device(const cuda::ScanView& v, const Tensor& w, Device where) {
  NoGradGuard ng;
  HATTN_CHECK(!w.defined() || w.numel() == v.L, "mean_scan: a vector of ", w.numel(), " entries for ", v.L, " tokens");
  const Tensor wd = w.defined() ? w.to(DType::F64).contiguous().to(where) : Tensor();
  Tensor per_unit = Tensor::empty({v.U, v.L}, DType::F64, where), out = Tensor::empty({v.L}, DType::F64, where);
  cuda::mean_scan(v, wd.defined() ? wd.data<double>() : nullptr, per_unit.data<double>(), out.data<double>(),
                  where.index);
  return out.to(Device::cpu());
}

Tensor causal_mean_row_sums(const nn::DirectionTrace& t, int64_t batch, Device where) {
  if (where.is_cuda() && t.A.size(1) <= cuda::kMaxScanStates)
    return mean_scan_on_device(ScanFactorsOnDevice(t, batch, where).view, Tensor(), where);
  Tensor out;
  dispatch_floating(t.delta.dtype(), "causal_mean_row_sums", [&](auto tag) {
    using T = decltype(tag);
    const Factors<T> f(t, batch);
    const int64_t L = f.L, N = f.N;
    // Σ_j α[i,j] is the scan of a constant input 1: h_i = decay_i ⊙ h_{i−1} + drive_i, out_i = C_i · h_i
    out = channel_mean_of(f, [&](const std::vector<T>& decay, const std::vector<T>& drive, std::vector<double>& h,
                                 std::vector<double>& o) {
      std::fill(h.begin(), h.end(), 0.0);
      for (int64_t i = 0; i < L; ++i) {
        double acc = 0;
        for (int64_t n = 0; n < N; ++n) {
          h[n] = double(decay[i * N + n]) * h[n] + double(drive[i * N + n]);
          acc += double(f.Ct[i * N + n]) * h[n];
        }
        o[i] = acc;
      }
    });
  });
  return out;
}

Tensor causal_mean_vecmat(const nn::DirectionTrace& t, int64_t batch, const Tensor& w_in, Device where) {
  if (where.is_cuda() && t.A.size(1) <= cuda::kMaxScanStates)
    return mean_scan_on_device(ScanFactorsOnDevice(t, batch, where).view, w_in, where);
  Tensor out;
  const std::vector<double> w = w_in.to(DType::F64).contiguous().to_vector<double>();
  HATTN_CHECK(static_cast<int64_t>(w.size()) == t.delta.size(2), "causal_mean_vecmat: a vector of ", w.size(),
              " entries for ", t.delta.size(2), " tokens");
  dispatch_floating(t.delta.dtype(), "causal_mean_vecmat", [&](auto tag) {
    using T = decltype(tag);
    const Factors<T> f(t, batch);
    const int64_t L = f.L, N = f.N;
    // Σ_i w_i α[i,j] by the reverse-time recurrence g_j = w_j C_j + decay_{j+1} ⊙ g_{j+1}, out_j = drive_j · g_j
    out = channel_mean_of(f, [&](const std::vector<T>& decay, const std::vector<T>& drive, std::vector<double>& g,
                                 std::vector<double>& o) {
      std::fill(g.begin(), g.end(), 0.0);
      for (int64_t j = L - 1; j >= 0; --j) {
        double acc = 0;
        for (int64_t n = 0; n < N; ++n) {
          const double carried = j + 1 < L ? double(decay[(j + 1) * N + n]) * g[n] : 0.0;
          g[n] = w[j] * double(f.Ct[j * N + n]) + carried;
          acc += double(drive[j * N + n]) * g[n];
        }
        o[j] = acc;
      }
    });
  });
  return out;
}

void causal_channel_sweep(const nn::DirectionTrace& t, int64_t batch, int64_t ranges,
                          const std::function<void(int64_t, int64_t, const Tensor&)>& f) {
  dispatch_floating(t.delta.dtype(), "causal_channel_sweep", [&](auto tag) {
    using T = decltype(tag);
    const Factors<T> fac(t, batch);
    const int64_t E = fac.E, L = fac.L, per = (E + ranges - 1) / ranges;
    parallel_for(ranges, 1, [&](int64_t r0, int64_t r1) {
      std::vector<T> decay, drive, Q, Qd, row;
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t d = r * per; d < std::min(E, (r + 1) * per); ++d) {
          Tensor M = Tensor::zeros({L, L}, dtype_of<T>::value);
          T* m = M.data<T>();
          fac.channel(d, decay, drive);
          fac.rows_in_order(decay, drive, Q, Qd, row, [&](int64_t i, const T* a) { std::copy(a, a + i + 1, m + i * L); });
          f(r, d, M);
        }
    });
  });
}

}  // namespace ha::xai
