// Fused selective scan on the CPU. Per (batch b, channel e) the recurrence runs over L steps with an
// N-vector state; (b, e) pairs are independent, so they run in parallel. B and C are first transposed to
// (B, L, N) so the inner loop over states is contiguous.
// Backward recomputes the states of one (b, e) (an L x N buffer per thread) instead of saving B*E*L*N of
// them, then runs the adjoint recurrence in reverse. dB and dC are shared by all channels: each fixed block
// of channels writes its own partial, summed in block order afterwards, so the result is deterministic.
#include "ops/cpu/selective_scan_cpu.h"

#include <cmath>
#include <type_traits>
#include <vector>

#include "ops/cpu/vec.h"
#include "ops/scalar_math.h"
#include "tensor/parallel.h"

namespace ha::cpu {
namespace {

constexpr int64_t kChannelBlock = 16;

template <class T>
std::vector<T> to_bln(const T* x, int64_t B, int64_t N, int64_t L) {
  std::vector<T> out(B * L * N);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t l = 0; l < L; ++l) out[(b * L + l) * N + n] = x[(b * N + n) * L + l];
  return out;
}

template <class T>
inline T step_delta(const ScanArgs<T>& a, int64_t e, T raw) {
  T v = raw + (a.delta_bias ? a.delta_bias[e] : T(0));
  if (a.delta_softplus) v = scalar::softplus(v);
  return v;
}



// Δ_t of one row, vectorised over t: softplus(raw + bias) or raw + bias.
void row_deltas(const ScanArgs<float>& a, int64_t e, const float* raw, float* dt) {
  const float bias = a.delta_bias ? a.delta_bias[e] : 0.f;
  if (a.delta_softplus)
    map_array(raw, dt, a.L, [bias](VecF v) { return vsoftplus(v + bias); });
  else
    map_array(raw, dt, a.L, [bias](VecF v) { return v + bias; });
}

// Forward of one (b, e) with the states in vector registers (float, N a multiple of the lane count).
// Δ is computed for the whole row first, so the loop body is short and branch-free and the out-of-order
// core overlaps the exps of several steps (only h is carried from step to step).
// kChunks = N / lanes is a compile-time constant so the state arrays live in registers, not on the stack.
template <int kChunks>
void forward_row_vec(const ScanArgs<float>& a, int64_t b, int64_t e, const float* Bt, const float* Ct, float* y_out) {
  constexpr int64_t chunks = kChunks;
  const int64_t L = a.L, N = a.N, r = b * a.E + e;
  VecF h[kChunks], A[kChunks];
  for (int64_t c = 0; c < chunks; ++c) h[c] = VecF{}, A[c] = load(a.A + e * N + c * kLanesF);
  const float* u = a.u + r * L;
  thread_local std::vector<float> dts, ys;
  dts.resize(L), ys.resize(L);
  row_deltas(a, e, a.delta + r * L, dts.data());
  // The per-step readouts C·h are stored and reduced afterwards, off the loop-carried dependency chain.
  thread_local std::vector<VecF> readout;
  readout.resize(L);
  for (int64_t k = 0; k < L; ++k) {
    const int64_t t = a.reverse ? L - 1 - k : k;
    const float dt = dts[t], dtu = dt * u[t];
    const float* Bv = Bt + (b * L + t) * N;
    const float* Cv = Ct + (b * L + t) * N;
    VecF acc{};
    for (int64_t c = 0; c < chunks; ++c) {
      h[c] = fmadd(vexp(A[c] * dt), h[c], load(Bv + c * kLanesF) * dtu);
      acc = fmadd(load(Cv + c * kLanesF), h[c], acc);
    }
    readout[t] = acc;
  }
  hsum_rows(readout.data(), L, ys.data());
  if (a.D)
    for (int64_t t = 0; t < L; ++t) ys[t] += a.D[e] * u[t];
  if (a.z)
    zip_array(ys.data(), a.z + r * L, y_out, L, [](VecF y, VecF z) { return y * (z * vsigmoid(z)); });
  else
    std::copy(ys.begin(), ys.end(), y_out);
}

// Backward of one (b, e): recompute states and decays (stored per step), then the adjoint recurrence.
// Accumulates dA (per state), dD and dΔ-bias into the given accumulators; dB/dC into per-block partials.
// Everything the loops touch is a local pointer or value: store() is a memcpy, which may alias anything,
// so members read through `a` or a std::vector would be reloaded after every store.
template <int kChunks>
void backward_row_vec(const ScanArgs<float>& a, int64_t b, int64_t e, const float* Bt, const float* Ct,
                      const float* dout, float* du, float* ddelta, float* dz, float* dBp, float* dCp,
                      std::vector<float>& hs_buf, std::vector<float>& decays_buf, std::vector<float>& dts_buf,
                      std::vector<float>& ypre_buf, double* dA_acc, double& dD_acc, double& dbias_acc) {
  constexpr int64_t N = kChunks * kLanesF;
  const int64_t L = a.L, r = b * a.E + e;
  const bool reverse = a.reverse, softplus = a.delta_softplus;
  const float D = a.D ? a.D[e] : 0.f, bias = a.delta_bias ? a.delta_bias[e] : 0.f;
  const float* u = a.u + r * L;
  const float* dl = a.delta + r * L;
  const float* z = a.z ? a.z + r * L : nullptr;
  const float* g = dout + r * L;
  if (dz) dz += r * L;
  if (ddelta) ddelta += r * L;
  if (du) du += r * L;
  Bt += b * L * N, Ct += b * L * N;
  if (dBp) dBp += b * L * N;
  if (dCp) dCp += b * L * N;
  hs_buf.resize((L + 1) * N);
  decays_buf.resize(L * N);
  float* hs = hs_buf.data() + N;  // hs[-1] = h before the first step = 0, so step 0 needs no branch
  float* decays = decays_buf.data();
  float* dts = dts_buf.data();
  float* ypre = ypre_buf.data();
  thread_local std::vector<VecF> red_y, red_ddt, red_du;
  thread_local std::vector<float> dys, sig, sum_ddt, sum_du;
  red_y.resize(L), red_ddt.resize(L), red_du.resize(L), dys.resize(L), sig.resize(L), sum_ddt.resize(L),
      sum_du.resize(L);

  VecF A[kChunks], h[kChunks], dh[kChunks], dA_sum[kChunks];
  for (int64_t c = 0; c < kChunks; ++c) {
    A[c] = load(a.A + e * N + c * kLanesF), h[c] = dh[c] = dA_sum[c] = VecF{};
    store(hs - N + c * kLanesF, VecF{});
  }
  row_deltas(a, e, dl, dts);
  // 1. recompute the states (stored by processing step k) and the pre-gate outputs
  for (int64_t k = 0; k < L; ++k) {
    const int64_t t = reverse ? L - 1 - k : k;
    const float dt = dts[t], dtu = dt * u[t];
    VecF acc{};
    for (int64_t c = 0; c < kChunks; ++c) {
      const VecF d = vexp(A[c] * dt);
      store(decays + k * N + c * kLanesF, d);
      h[c] = fmadd(d, h[c], load(Bt + t * N + c * kLanesF) * dtu);
      store(hs + k * N + c * kLanesF, h[c]);
      acc = fmadd(load(Ct + t * N + c * kLanesF), h[c], acc);
    }
    red_y[t] = acc;
  }
  hsum_rows(red_y.data(), L, ypre);
  for (int64_t t = 0; t < L; ++t) ypre[t] += D * u[t];
  // 2. the gate: dy = g z σ(z), dz = g y σ(z) (1 + z (1 − σ(z)))
  if (z) {
    map_array(z, sig.data(), L, [](VecF v) { return vsigmoid(v); });
    for (int64_t t = 0; t < L; ++t) dys[t] = g[t] * z[t] * sig[t];
    if (dz)
      for (int64_t t = 0; t < L; ++t) dz[t] = g[t] * ypre[t] * sig[t] * (1.f + z[t] * (1.f - sig[t]));
  } else {
    std::copy(g, g + L, dys.begin());
  }
  // 3. the adjoint recurrence: dh carries d(loss)/d(h) from step k+1 back to step k
  for (int64_t k = L - 1; k >= 0; --k) {
    const int64_t t = reverse ? L - 1 - k : k;
    const float dy = dys[t], dt = dts[t], ut = u[t], dtu = dt * ut;
    VecF ddt_v{}, du_v{};
    for (int64_t c = 0; c < kChunks; ++c) {
      const int64_t o = t * N + c * kLanesF;
      const VecF Bc = load(Bt + o), Cc = load(Ct + o), dc = load(decays + k * N + c * kLanesF);
      dh[c] = fmadd(Cc, dy, dh[c]);
      if (dCp) store(dCp + o, fmadd(load(hs + k * N + c * kLanesF), dy, load(dCp + o)));
      const VecF g_decay = dh[c] * load(hs + (k - 1) * N + c * kLanesF) * dc;  // 0 at k = 0
      const VecF dhB = dh[c] * Bc;
      ddt_v = fmadd(g_decay, A[c], fmadd(dhB, ut, ddt_v));
      dA_sum[c] = fmadd(g_decay, dt, dA_sum[c]);
      if (dBp) store(dBp + o, fmadd(dh[c], dtu, load(dBp + o)));
      du_v = fmadd(dhB, dt, du_v);
      dh[c] *= dc;
    }
    red_ddt[t] = ddt_v;
    red_du[t] = du_v;
  }
  // 4. softplus' = σ(raw + bias), reusing sig for it
  if (softplus)
    map_array(dl, sig.data(), L, [bias](VecF v) {
      v += bias;
      return v > scalar::kSoftplusThreshold ? splat(1.f) : vsigmoid(v);
    });
  // 5. the deferred horizontal sums; dD and dΔ-bias in t-descending order, as the scalar path
  hsum_rows(red_ddt.data(), L, sum_ddt.data());
  hsum_rows(red_du.data(), L, sum_du.data());
  double dD_sum = 0, dbias_sum = 0;
  for (int64_t k = L - 1; k >= 0; --k) {
    const int64_t t = reverse ? L - 1 - k : k;
    const float dy = dys[t];
    float ddt = sum_ddt[t];
    if (softplus) ddt *= sig[t];
    if (ddelta) ddelta[t] = ddt;
    if (du) du[t] = sum_du[t] + dy * D;
    dD_sum += double(dy) * u[t];
    dbias_sum += ddt;
  }
  if (a.D) dD_acc += dD_sum;
  dbias_acc += dbias_sum;
  for (int64_t c = 0; c < kChunks; ++c)
    for (int i = 0; i < kLanesF; ++i) dA_acc[c * kLanesF + i] += dA_sum[c][i];
}

// The vector paths for N = lanes · {1, 2, 3, 4}; false when N has no such path.
bool forward_row_dispatch(const ScanArgs<float>& a, int64_t b, int64_t e, const float* Bt, const float* Ct, float* y) {
  switch (a.N % kLanesF ? 0 : a.N / kLanesF) {
    case 1: forward_row_vec<1>(a, b, e, Bt, Ct, y); return true;
    case 2: forward_row_vec<2>(a, b, e, Bt, Ct, y); return true;
    case 3: forward_row_vec<3>(a, b, e, Bt, Ct, y); return true;
    case 4: forward_row_vec<4>(a, b, e, Bt, Ct, y); return true;
    default: return false;
  }
}

template <class... Args>
bool backward_row_dispatch(const ScanArgs<float>& a, Args&&... args) {
  switch (a.N % kLanesF ? 0 : a.N / kLanesF) {
    case 1: backward_row_vec<1>(a, args...); return true;
    case 2: backward_row_vec<2>(a, args...); return true;
    case 3: backward_row_vec<3>(a, args...); return true;
    case 4: backward_row_vec<4>(a, args...); return true;
    default: return false;
  }
}

}  // namespace

template <class T>
void selective_scan_forward(const ScanArgs<T>& a, T* out) {
  const int64_t B = a.B, E = a.E, L = a.L, N = a.N;
  std::vector<T> Bt = to_bln(a.Bm, B, N, L), Ct = to_bln(a.Cm, B, N, L);
  parallel_for(B * E, 4, [&](int64_t r0, int64_t r1) {
    std::vector<T> h(N);
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / E, e = r % E;
      const T* u = a.u + r * L;
      const T* dl = a.delta + r * L;
      const T* A = a.A + e * N;
      if constexpr (std::is_same_v<T, float>)
        if (forward_row_dispatch(a, b, e, Bt.data(), Ct.data(), out + r * L)) continue;
      std::fill(h.begin(), h.end(), T(0));
      for (int64_t k = 0; k < L; ++k) {
        const int64_t t = a.reverse ? L - 1 - k : k;
        const T dt = step_delta(a, e, dl[t]);
        const T* Bv = Bt.data() + (b * L + t) * N;
        const T* Cv = Ct.data() + (b * L + t) * N;
        const T dtu = dt * u[t];
        T* __restrict hp = h.data();
        for (int64_t n = 0; n < N; ++n) hp[n] = std::exp(dt * A[n]) * hp[n] + dtu * Bv[n];
        T y = 0;
        for (int64_t n = 0; n < N; ++n) y += Cv[n] * hp[n];
        if (a.D) y += a.D[e] * u[t];
        if (a.z) {
          const T zt = a.z[r * L + t];
          y *= zt * scalar::sigmoid(zt);
        }
        out[r * L + t] = y;
      }
    }
  });
}

template <class T>
void selective_scan_backward(const ScanArgs<T>& a, const T* dout, T* du, T* ddelta, T* dA, T* dB, T* dC, T* dD,
                             T* dz, T* ddelta_bias) {
  const int64_t B = a.B, E = a.E, L = a.L, N = a.N;
  std::vector<T> Bt = to_bln(a.Bm, B, N, L), Ct = to_bln(a.Cm, B, N, L);
  const int64_t blocks = (E + kChannelBlock - 1) / kChannelBlock;
  // per channel block: partial dB, dC in (B, L, N) layout
  std::vector<T> dB_part(dB ? blocks * B * L * N : 0), dC_part(dC ? blocks * B * L * N : 0);
  parallel_for(blocks, 1, [&](int64_t blk0, int64_t blk1) {
    std::vector<T> hs(L * N), dts(L), ypre(L), dh(N), decays;
    std::vector<double> dA_acc(N);
    for (int64_t blk = blk0; blk < blk1; ++blk) {
      T* dBp = dB ? dB_part.data() + blk * B * L * N : nullptr;
      T* dCp = dC ? dC_part.data() + blk * B * L * N : nullptr;
      for (int64_t e = blk * kChannelBlock; e < std::min(E, (blk + 1) * kChannelBlock); ++e) {
        const T* A = a.A + e * N;
        std::fill(dA_acc.begin(), dA_acc.end(), 0.0);
        double dD_acc = 0, dbias_acc = 0;
        for (int64_t b = 0; b < B; ++b) {
          if constexpr (std::is_same_v<T, float>) {
            decays.resize(L * N);
            if (backward_row_dispatch(a, b, e, Bt.data(), Ct.data(), dout, du, ddelta, dz, dBp, dCp, hs, decays, dts,
                                      ypre, dA_acc.data(), dD_acc, dbias_acc))
              continue;
          }
          const int64_t r = b * E + e;
          const T* u = a.u + r * L;
          const T* dl = a.delta + r * L;
          // recompute the states h_t (stored by processing step k) and the pre-gate outputs
          T* hprev = nullptr;
          for (int64_t k = 0; k < L; ++k) {
            const int64_t t = a.reverse ? L - 1 - k : k;
            const T dt = step_delta(a, e, dl[t]);
            dts[t] = dt;
            const T* Bv = Bt.data() + (b * L + t) * N;
            const T* Cv = Ct.data() + (b * L + t) * N;
            T* h = hs.data() + k * N;
            T y = 0;
            for (int64_t n = 0; n < N; ++n) {
              h[n] = std::exp(dt * A[n]) * (hprev ? hprev[n] : T(0)) + dt * u[t] * Bv[n];
              y += Cv[n] * h[n];
            }
            ypre[t] = y + (a.D ? a.D[e] * u[t] : T(0));
            hprev = h;
          }
          // adjoint recurrence: dh carries d(loss)/d(h) from step k+1 back to step k
          std::fill(dh.begin(), dh.end(), T(0));
          for (int64_t k = L - 1; k >= 0; --k) {
            const int64_t t = a.reverse ? L - 1 - k : k;
            const T g = dout[r * L + t];
            T dy = g;
            if (a.z) {
              const T zt = a.z[r * L + t], s = scalar::sigmoid(zt);
              dy = g * zt * s;
              if (dz) dz[r * L + t] = g * ypre[t] * s * (T(1) + zt * (T(1) - s));
            }
            const T dt = dts[t];
            const T* Bv = Bt.data() + (b * L + t) * N;
            const T* Cv = Ct.data() + (b * L + t) * N;
            const T* h = hs.data() + k * N;
            const T* hp = k > 0 ? hs.data() + (k - 1) * N : nullptr;
            T du_t = a.D ? dy * a.D[e] : T(0);
            if (a.D) dD_acc += double(dy) * u[t];
            T ddt = 0;
            for (int64_t n = 0; n < N; ++n) {
              const T dAn = std::exp(dt * A[n]);
              dh[n] += dy * Cv[n];
              if (dCp) dCp[(b * L + t) * N + n] += dy * h[n];
              if (hp) {
                const T g_decay = dh[n] * hp[n] * dAn;  // d/d(dt*A[n]) of the decay term
                ddt += g_decay * A[n];
                dA_acc[n] += double(g_decay) * dt;
              }
              ddt += dh[n] * Bv[n] * u[t];
              if (dBp) dBp[(b * L + t) * N + n] += dh[n] * dt * u[t];
              du_t += dh[n] * dt * Bv[n];
              dh[n] *= dAn;
            }
            if (a.delta_softplus) {
              const T raw = dl[t] + (a.delta_bias ? a.delta_bias[e] : T(0));
              ddt *= scalar::softplus_grad(raw);
            }
            if (ddelta) ddelta[r * L + t] = ddt;
            dbias_acc += ddt;
            if (du) du[r * L + t] = du_t;
          }
        }
        if (dA)
          for (int64_t n = 0; n < N; ++n) dA[e * N + n] = static_cast<T>(dA_acc[n]);
        if (dD) dD[e] = static_cast<T>(dD_acc);
        if (ddelta_bias) ddelta_bias[e] = static_cast<T>(dbias_acc);
      }
    }
  });
  // sum the channel-block partials in block order and return to (B, N, L)
  auto reduce = [&](const std::vector<T>& part, T* dst) {
    parallel_for(B * N, 16, [&](int64_t q0, int64_t q1) {
      for (int64_t q = q0; q < q1; ++q) {
        const int64_t b = q / N, n = q % N;
        for (int64_t l = 0; l < L; ++l) {
          T acc = 0;
          for (int64_t blk = 0; blk < blocks; ++blk) acc += part[((blk * B + b) * L + l) * N + n];
          dst[(b * N + n) * L + l] = acc;
        }
      }
    });
  };
  if (dB) reduce(dB_part, dB);
  if (dC) reduce(dC_part, dC);
}

template void selective_scan_forward<float>(const ScanArgs<float>&, float*);
template void selective_scan_forward<double>(const ScanArgs<double>&, double*);
template void selective_scan_backward<float>(const ScanArgs<float>&, const float*, float*, float*, float*, float*,
                                             float*, float*, float*, float*);
template void selective_scan_backward<double>(const ScanArgs<double>&, const double*, double*, double*, double*,
                                              double*, double*, double*, double*, double*);

}  // namespace ha::cpu
