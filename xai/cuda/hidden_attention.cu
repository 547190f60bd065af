// Hidden-attention rows and matrices on the GPU (see hidden_attention_cuda.h).
#include "xai/cuda/hidden_attention_cuda.h"

#include <cmath>

#include "ops/scalar_math.h"
#include "tensor/cuda/cuda_check.h"

namespace ha::xai::cuda {
namespace {

constexpr int kRowThreads = 128;  // threads per channel of rows_kernel

// Row q of one channel's hidden attention (a block per channel): α[q, j] = Σ_n C_q[n] P_j[n] Δ_j B_j[n] for
// j <= top, P_j[n] = Π_{k=j+1..top} exp(Δ_k A_n) (top = q, or q - 1 for the released code's row without its
// diagonal). The products are a scan over j from top down: each thread takes a segment of consecutive j, its
// states' segment products go through shared memory, one thread per state runs them in order for the product
// each segment starts from, and each thread then runs its segment. Unified: then the gate and the conv's taps.
__global__ void __launch_bounds__(kRowThreads) rows_kernel(TraceView t, int64_t q, Row kind, float* out) {
  const int64_t d = blockIdx.x, L = t.L, N = t.N, tid = threadIdx.x;
  const int64_t top = kind == Row::Official ? q - 1 : q, count = top + 1;  // j = top .. 0
  const int64_t per = (count + kRowThreads - 1) / kRowThreads, i0 = min(count, tid * per), i1 = min(count, i0 + per);
  HATTN_SHARED_ARRAY(float[kMaxStates + 1], carry, kRowThreads);  // + 1: no bank conflicts
  const float* dl = t.delta + d * L;
  float* o = out + d * L;
  float A[kMaxStates], cq[kMaxStates], P[kMaxStates];
#pragma unroll
  for (int n = 0; n < kMaxStates; ++n) {
    A[n] = n < N ? t.A[d * N + n] : 0.f;
    cq[n] = n < N ? t.C[n * L + q] : 0.f;
    P[n] = 1.f;
  }
  // this segment's products (moving from j to j - 1 multiplies by exp(Δ_j A))
  for (int64_t i = i0; i < i1; ++i) {
    const float dt = dl[top - i];
#pragma unroll
    for (int n = 0; n < kMaxStates; ++n)
      if (n < N) P[n] *= expf(dt * A[n]);
  }
#pragma unroll
  for (int n = 0; n < kMaxStates; ++n) carry[tid][n] = P[n];
  __syncthreads();
  if (tid < N) {  // the product each segment starts from, in segment order
    float p = 1.f;
    for (int s = 0; s < kRowThreads; ++s) {
      const float seg = carry[s][tid];
      carry[s][tid] = p;
      p *= seg;
    }
  }
  __syncthreads();
#pragma unroll
  for (int n = 0; n < kMaxStates; ++n) P[n] = carry[tid][n];
  for (int64_t i = i0; i < i1; ++i) {
    const int64_t j = top - i;
    const float dt = dl[j];
    float acc = 0.f;
#pragma unroll
    for (int n = 0; n < kMaxStates; ++n) {
      if (n < N) {
        acc += cq[n] * P[n] * (dt * t.B[n * L + j]);
        P[n] *= expf(dt * A[n]);
      }
    }
    o[j] = acc;
  }
  if (kind != Row::Unified) return;  // (block-uniform: no thread waits below)
  // α̂[q, j] = SiLU(z_q) Σ_{c=j..min(j+K−1, q)} w[j−c+K−1] σ(pre_c) α[q, c]
  __syncthreads();
  for (int64_t c = tid; c <= q; c += kRowThreads) o[c] *= scalar::sigmoid(t.pre[d * L + c]);
  const float zq = t.z[d * L + q], gate = zq * scalar::sigmoid(zq);
  const float* w = t.w + d * t.K;
  for (int64_t j0 = 0; j0 <= q; j0 += kRowThreads) {  // tiles: a tile reads its own and later entries, then writes
    __syncthreads();
    const int64_t j = j0 + tid;
    float acc = 0.f;
    if (j <= q)
      for (int64_t c = j; c <= min(j + t.K - 1, q); ++c) acc += w[j - c + t.K - 1] * o[c];
    __syncthreads();
    if (j <= q) o[j] = gate * acc;
  }
}

__global__ void __launch_bounds__(kMaxTokens) matrices_kernel(TraceView t, int64_t c0, bool reversed, float* out) {
  const int64_t d = c0 + blockIdx.x, j = threadIdx.x, L = t.L, N = t.N;
  HATTN_SHARED_ARRAY(float, E_s, kMaxStates);
  HATTN_SHARED_ARRAY(float, C_s, kMaxStates);
  HATTN_SHARED_ARRAY(float, drive_s, kMaxStates);
  float Q[kMaxStates];
#pragma unroll
  for (int n = 0; n < kMaxStates; ++n) Q[n] = 0.f;
  float* M = out + int64_t(blockIdx.x) * L * L;
  for (int64_t i = 0; i < L; ++i) {
    if (threadIdx.x < N) {
      const int n = threadIdx.x;
      const float dt = t.delta[d * L + i];
      E_s[n] = expf(dt * t.A[d * N + n]);
      C_s[n] = t.C[n * L + i];
      drive_s[n] = dt * t.B[n * L + i];
    }
    __syncthreads();
    if (j <= i) {
      float acc = 0.f;
#pragma unroll
      for (int n = 0; n < kMaxStates; ++n) {
        if (n < N) {
          Q[n] = j < i ? Q[n] * E_s[n] : drive_s[n];  // column i starts at its drive
          acc += C_s[n] * Q[n];
        }
      }
      M[reversed ? (L - 1 - i) * L + (L - 1 - j) : i * L + j] += acc;
    }
    __syncthreads();
  }
}

constexpr int kStatThreads = 128;  // columns j per block of the statistics kernels; blockIdx.y is the row i

__device__ void store_stats(const StatsOut& out, int64_t k, double sum, double sum_relu, float lo, float hi,
                            int64_t units) {
  out.mean[k] = sum / double(units);
  out.mean_relu[k] = sum_relu / double(units);
  out.lo[k] = lo;
  out.hi[k] = hi;
}

__global__ void __launch_bounds__(kStatThreads) channel_stats_kernel(TraceView t, const double* S, StatsOut out) {
  const int64_t i = blockIdx.y, j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x, L = t.L, N = t.N;
  if (j >= L) return;
  if (j > i) return store_stats(out, i * L + j, 0.0, 0.0, 0.f, 0.f, 1);
  float cb[kMaxStates];
#pragma unroll
  for (int n = 0; n < kMaxStates; ++n) cb[n] = n < N ? t.C[n * L + i] * t.B[n * L + j] : 0.f;
  double sum = 0, sum_relu = 0;
  float lo = INFINITY, hi = -INFINITY;
  for (int64_t d = 0; d < t.E; ++d) {
    const float diff = float(S[d * L + i] - S[d * L + j]);
    float acc = 0.f;
#pragma unroll
    for (int n = 0; n < kMaxStates; ++n)
      if (n < N) acc += cb[n] * expf(t.A[d * N + n] * diff);
    const float a = acc * t.delta[d * L + j];
    sum += a;
    sum_relu += a > 0.f ? a : 0.f;
    lo = fminf(lo, a);
    hi = fmaxf(hi, a);
  }
  store_stats(out, i * L + j, sum, sum_relu, lo, hi, t.E);
}

__global__ void __launch_bounds__(kStatThreads) head_stats_kernel(HeadView h, const double* S, StatsOut out) {
  const int64_t i = blockIdx.y, j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x, L = h.L, N = h.N;
  if (j >= L) return;
  if (j > i) return store_stats(out, i * L + j, 0.0, 0.0, 0.f, 0.f, 1);
  double sum = 0, sum_relu = 0;
  float lo = INFINITY, hi = -INFINITY;
  const int64_t per_group = h.H / h.G;
  for (int64_t g = 0; g < h.G; ++g) {
    double cb = 0;
    for (int64_t n = 0; n < N; ++n) cb += double(h.C[(g * N + n) * L + i]) * double(h.B[(g * N + n) * L + j]);
    for (int64_t hd = g * per_group; hd < (g + 1) * per_group; ++hd) {
      const float a = float(cb * exp(double(h.A[hd]) * (S[hd * L + i] - S[hd * L + j])) * double(h.delta[hd * L + j]));
      sum += a;
      sum_relu += a > 0.f ? a : 0.f;
      lo = fminf(lo, a);
      hi = fmaxf(hi, a);
    }
  }
  store_stats(out, i * L + j, sum, sum_relu, lo, hi, h.H);
}

__global__ void __launch_bounds__(kStatThreads) head_rows_kernel(HeadView h, const double* S, int64_t q, float* out) {
  const int64_t hd = blockIdx.y, j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x, L = h.L, N = h.N;
  if (j >= L) return;
  if (j > q) {
    out[hd * L + j] = 0.f;
    return;
  }
  const int64_t g = hd / (h.H / h.G);
  double cb = 0;
  for (int64_t n = 0; n < N; ++n) cb += double(h.C[(g * N + n) * L + q]) * double(h.B[(g * N + n) * L + j]);
  out[hd * L + j] = float(cb * exp(double(h.A[hd]) * (S[hd * L + q] - S[hd * L + j])) * double(h.delta[hd * L + j]));
}

constexpr int kScanChunk = 32;  // tokens per block-wide sum over the states (blockDim >= kScanChunk)

// Forward (w == nullptr): s_i = e_i s_{i-1} + Δ_i B_i, term_i = C_i s_i. Reverse: g_j = w_j C_j + e_{j+1} g_{j+1},
// term_j = Δ_j B_j g_j. Thread n carries state n; per_unit[u, i] = Σ_n term_i[n], summed in n order.
__global__ void __launch_bounds__(kMaxScanStates) mean_scan_kernel(ScanView v, const double* w, double* per_unit) {
  const int64_t u = blockIdx.x, n = threadIdx.x, L = v.L, N = v.N;
  // + 1: the per-token sums read a row without bank conflicts
  HATTN_SHARED_ARRAY(double[kMaxScanStates + 1], terms, kScanChunk);
  const bool reverse = w != nullptr, active = n < N;
  const int64_t row = (u / (v.U / v.G)) * N + n;  // this state's row of B and C
  const double a = active ? double(v.state_decay ? v.A[u * N + n] : v.A[u]) : 0.0;
  const float* dl = v.delta + u * L;
  double s = 0;
  for (int64_t c0 = 0; c0 < L; c0 += kScanChunk) {
    const int64_t len = min(int64_t(kScanChunk), L - c0);
    if (active) {
      for (int64_t k = 0; k < len; ++k) {
        const int64_t i = reverse ? L - 1 - (c0 + k) : c0 + k;
        const double dt = dl[i];
        if (reverse) {
          const double carry = i + 1 < L ? exp(double(dl[i + 1]) * a) : 0.0;
          s = w[i] * double(v.C[row * L + i]) + carry * s;
          terms[k][n] = dt * double(v.B[row * L + i]) * s;
        } else {
          s = exp(dt * a) * s + dt * double(v.B[row * L + i]);
          terms[k][n] = double(v.C[row * L + i]) * s;
        }
      }
    }
    __syncthreads();
    if (n < len) {
      double acc = 0;
      for (int64_t m = 0; m < N; ++m) acc += terms[n][m];
      per_unit[u * L + (reverse ? L - 1 - (c0 + n) : c0 + n)] = acc;
    }
    __syncthreads();
  }
}

__global__ void __launch_bounds__(kStatThreads) unit_mean_kernel(int64_t U, int64_t L, const double* per_unit,
                                                                 double* out) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= L) return;
  double acc = 0;
  for (int64_t u = 0; u < U; ++u) acc += per_unit[u * L + i];
  out[i] = acc / double(U);
}

}  // namespace

void head_rows(const HeadView& h, const double* S, int64_t q, float* out, int device) {
  HATTN_CHECK(h.G > 0 && h.H % h.G == 0 && h.H <= 65535, "head rows (CUDA): ", h.H, " heads in ", h.G,
              " groups (at most 65,535 heads)");
  HATTN_CHECK(q >= 0 && q < h.L, "head attention: query ", q, " out of range for ", h.L, " tokens");
  if (h.H == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  const dim3 grid(unsigned((h.L + kStatThreads - 1) / kStatThreads), unsigned(h.H));
  HATTN_LAUNCH(grid, kStatThreads, 0, head_rows_kernel)(h, S, q, out);
  HATTN_CUDA_CHECK(cudaGetLastError());
}

void mean_scan(const ScanView& v, const double* w, double* per_unit, double* out, int device) {
  HATTN_CHECK(v.N >= 1 && v.N <= kMaxScanStates && v.G > 0 && v.U % v.G == 0, "mean scan (CUDA): ", v.N,
              " states (1 to ", kMaxScanStates, "), ", v.U, " units in ", v.G, " groups");
  if (v.L == 0 || v.U == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  const int threads = int(max(int64_t(kScanChunk), (v.N + 31) / 32 * 32));
  HATTN_LAUNCH(unsigned(v.U), threads, 0, mean_scan_kernel)(v, w, per_unit);
  HATTN_CUDA_CHECK(cudaGetLastError());
  HATTN_LAUNCH(unsigned((v.L + kStatThreads - 1) / kStatThreads), kStatThreads, 0, unit_mean_kernel)(v.U, v.L,
                                                                                                       per_unit, out);
  HATTN_CUDA_CHECK(cudaGetLastError());
}

void channel_stats(const TraceView& t, const double* S, const StatsOut& out, int device) {
  HATTN_CHECK(t.N <= kMaxStates && t.L <= 65535, "hidden attention statistics (CUDA): at most ", kMaxStates,
              " states and 65,535 tokens, got N = ", t.N, ", L = ", t.L);
  if (t.L == 0 || t.E == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  const dim3 grid(unsigned((t.L + kStatThreads - 1) / kStatThreads), unsigned(t.L));
  HATTN_LAUNCH(grid, kStatThreads, 0, channel_stats_kernel)(t, S, out);
  HATTN_CUDA_CHECK(cudaGetLastError());
}

void head_stats(const HeadView& h, const double* S, const StatsOut& out, int device) {
  HATTN_CHECK(h.G > 0 && h.H % h.G == 0 && h.L <= 65535, "head statistics (CUDA): ", h.H, " heads in ", h.G,
              " groups, ", h.L, " tokens (at most 65,535)");
  if (h.L == 0 || h.H == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  const dim3 grid(unsigned((h.L + kStatThreads - 1) / kStatThreads), unsigned(h.L));
  HATTN_LAUNCH(grid, kStatThreads, 0, head_stats_kernel)(h, S, out);
  HATTN_CUDA_CHECK(cudaGetLastError());
}

void rows(const TraceView& t, int64_t q, Row kind, float* out, int device) {
  HATTN_CHECK(t.N <= kMaxStates, "hidden attention (CUDA): N = ", t.N, " states, at most ", kMaxStates);
  HATTN_CHECK(q >= 0 && q < t.L, "hidden attention: row ", q, " out of range for ", t.L, " tokens");
  if (t.E == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  HATTN_LAUNCH(unsigned(t.E), kRowThreads, 0, rows_kernel)(t, q, kind, out);
  HATTN_CUDA_CHECK(cudaGetLastError());
}

void matrices(const TraceView& t, int64_t c0, int64_t c1, bool reversed, float* out, int device) {
  HATTN_CHECK(t.N <= kMaxStates && t.L <= kMaxTokens, "hidden attention (CUDA): at most ", kMaxStates, " states and ",
              kMaxTokens, " tokens, got N = ", t.N, ", L = ", t.L);
  if (c1 <= c0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  const int threads = int((t.L + 31) / 32 * 32);
  HATTN_LAUNCH(unsigned(c1 - c0), threads, 0, matrices_kernel)(t, c0, reversed, out);
  HATTN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ha::xai::cuda
