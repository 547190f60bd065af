// CUDA selective scan, forward and backward (see selective_scan_cuda.h for the design, ops/selective_scan.cpp for
// the math).
//
// One block per (batch, channel); the L steps in chunks of kChunk, each thread kItems consecutive steps of a chunk
// (coalesced loads: a warp reads 32 · kItems consecutive values of a row). The recurrence h_k = a_k h_{k-1} + b_k,
// a_k = exp(Δ_k A_n), b_k = Δ_k u_k B_{n,k}, is scanned per state in three phases for kGroup states at a time:
//   1. every thread composes its steps into one pair (P, S): h_after = P · h_before + S;
//   2. one thread per state runs the kThreads pairs in order from the state the chunk starts with, writing the
//      state before each thread's steps (and keeping the chunk's final state for the next chunk);
//   3. every thread re-runs its steps from that state.
// The states never live in registers, so any N up to kScanMaxStates runs with the same few registers.
#include "ops/cuda/selective_scan_cuda.h"

#include "ops/scalar_math.h"
#include "tensor/cuda/cuda_check.h"
#include "tensor/cuda/cuda_memory.h"

namespace ha::cuda {
namespace {

constexpr int kThreads = 128;              // threads per block: one block per (batch, channel)
constexpr int kItems = 4;                  // consecutive steps per thread
constexpr int kChunk = kThreads * kItems;  // steps per chunk
constexpr int kGroup = 16;                 // states scanned together (a shared-memory column each)
constexpr int kPad = kGroup + 1;           // row stride of the per-thread tables: no bank conflicts
constexpr int kReduceThreads = 256;        // the reductions of the partial gradients

struct Args {
  int B, E, L, N;
  const float *u, *delta, *A, *Bm, *Cm, *D, *z, *delta_bias;
  bool softplus, reverse;
};

Args device_args(const cpu::ScanArgs<float>& a) {
  return {int(a.B), int(a.E), int(a.L), int(a.N), a.u, a.delta, a.A, a.Bm, a.Cm, a.D, a.z, a.delta_bias,
          a.delta_softplus, a.reverse};
}

// A thread's steps of one chunk: processing step k = k0 + tid · kItems + j is position t of the row (the reverse
// scan processes the row from its end); steps past L are absent.
struct Steps {
  int t[kItems];
  bool valid[kItems];
  float dt[kItems], u[kItems];
};

__device__ __forceinline__ Steps load_steps(const Args& a, size_t row, int k0, int e) {
  Steps s;
  const float bias = a.delta_bias ? a.delta_bias[e] : 0.f;
#pragma unroll
  for (int j = 0; j < kItems; ++j) {
    const int k = k0 + int(threadIdx.x) * kItems + j;
    s.valid[j] = k < a.L;
    s.t[j] = a.reverse ? a.L - 1 - k : k;
    s.dt[j] = 0.f;
    s.u[j] = 0.f;
    if (s.valid[j]) {
      float v = a.delta[row + s.t[j]] + bias;
      if (a.softplus) v = scalar::softplus(v);
      s.dt[j] = v;
      s.u[j] = a.u[row + s.t[j]];
    }
  }
  return s;
}

// Phase 1 for state n: this thread's steps composed, (P, S) with h_after = P · h_before + S.
__device__ __forceinline__ void compose_forward(const Steps& s, float An, const float* Bn, float& P, float& S) {
  P = 1.f;
  S = 0.f;
#pragma unroll
  for (int j = 0; j < kItems; ++j)
    if (s.valid[j]) {
      const float d = expf(s.dt[j] * An);
      P *= d;
      S = d * S + s.dt[j] * s.u[j] * Bn[s.t[j]];
    }
}

// Phase 2, on thread g < G: runs the threads' pairs (P, S) of column g in order from `h`, leaves in S the state
// before each thread's steps and returns the state after the last.
__device__ __forceinline__ float run_pairs(float (*P)[kPad], float (*S)[kPad], int g, float h) {
  for (int i = 0; i < kThreads; ++i) {
    const float before = h;
    h = P[i][g] * h + S[i][g];
    S[i][g] = before;
  }
  return h;
}

__global__ void __launch_bounds__(kThreads) scan_forward_kernel(Args a, float* out) {
  const int e = blockIdx.x, b = blockIdx.y, tid = threadIdx.x, N = a.N;
  const size_t row = (size_t(b) * a.E + e) * a.L;
  HATTN_SHARED_ARRAY(float[kPad], P_s, kThreads);
  HATTN_SHARED_ARRAY(float[kPad], S_s, kThreads);
  HATTN_SHARED_ARRAY(float, carry, kScanMaxStates);  // each state where the previous chunk left it
  for (int n = tid; n < N; n += kThreads) carry[n] = 0.f;
  for (int k0 = 0; k0 < a.L; k0 += kChunk) {
    const Steps s = load_steps(a, row, k0, e);
    float y[kItems] = {};
    for (int n0 = 0; n0 < N; n0 += kGroup) {
      const int G = min(kGroup, N - n0);
      for (int g = 0; g < G; ++g)
        compose_forward(s, a.A[e * N + n0 + g], a.Bm + (size_t(b) * N + n0 + g) * a.L, P_s[tid][g], S_s[tid][g]);
      __syncthreads();
      if (tid < G) carry[n0 + tid] = run_pairs(P_s, S_s, tid, carry[n0 + tid]);
      __syncthreads();
      for (int g = 0; g < G; ++g) {
        const int n = n0 + g;
        const float An = a.A[e * N + n];
        const float *Bn = a.Bm + (size_t(b) * N + n) * a.L, *Cn = a.Cm + (size_t(b) * N + n) * a.L;
        float h = S_s[tid][g];
#pragma unroll
        for (int j = 0; j < kItems; ++j)
          if (s.valid[j]) {
            h = expf(s.dt[j] * An) * h + s.dt[j] * s.u[j] * Bn[s.t[j]];
            y[j] += Cn[s.t[j]] * h;
          }
      }
      __syncthreads();  // the tables are rewritten by the next group
    }
#pragma unroll
    for (int j = 0; j < kItems; ++j)
      if (s.valid[j]) {
        float v = y[j];
        if (a.D) v += a.D[e] * s.u[j];
        if (a.z) {
          const float zt = a.z[row + s.t[j]];
          v *= zt * scalar::sigmoid(zt);
        }
        out[row + s.t[j]] = v;
      }
  }
}

// Backward of one (b, e). Pass 1 runs the chunks forward and records the state each chunk starts with
// (h_start, (B, E, chunks, N)). Pass 2 runs them backward, carrying the gradient that reaches the chunk's last
// state from the steps after it. With q_k = dy_k C_k (the output's gradient on h_k) and r_k = a_k (q_k + r_{k+1})
// (the gradient h_{k-1} receives through step k), the gradient on h_k is g_k = q_k + r_{k+1}; r is scanned right
// to left in the same three phases, (P', S') composing a thread's steps: r_first = P' · r_in + S'. Per-channel
// dB and dC go to (B, E, N, L) buffers and dA, dD, dΔ-bias to per-(b, e) partials (double), which separate
// kernels reduce in a fixed order (no atomics).
__global__ void __launch_bounds__(kThreads)
    scan_backward_kernel(Args a, const float* dout, float* du, float* ddelta, float* dz, float* h_start,
                         float* dB_buf, float* dC_buf, double* dA_part, double* dD_part, double* dbias_part) {
  const int e = blockIdx.x, b = blockIdx.y, tid = threadIdx.x, N = a.N, L = a.L;
  const size_t row = (size_t(b) * a.E + e) * L;
  const int chunks = (L + kChunk - 1) / kChunk;
  float* starts = h_start + (size_t(b) * a.E + e) * size_t(chunks) * N;
  HATTN_SHARED_ARRAY(float[kPad], P_s, kThreads);  // forward P; reverse P'; this thread's dA terms
  HATTN_SHARED_ARRAY(float[kPad], S_s, kThreads);  // forward S, then the state before the thread's steps
  HATTN_SHARED_ARRAY(float[kPad], R_s, kThreads);  // reverse S', then the r entering the thread's steps
  HATTN_SHARED_ARRAY(float, carry, kScanMaxStates);
  HATTN_SHARED_ARRAY(double, dA_acc, kScanMaxStates);
  HATTN_SHARED_ARRAY(double, red, kThreads);
  for (int n = tid; n < N; n += kThreads) carry[n] = 0.f, dA_acc[n] = 0.0;
  // pass 1: the state every chunk starts with
  for (int c = 0; c < chunks; ++c) {
    const Steps s = load_steps(a, row, c * kChunk, e);
    for (int n0 = 0; n0 < N; n0 += kGroup) {
      const int G = min(kGroup, N - n0);
      for (int g = 0; g < G; ++g)
        compose_forward(s, a.A[e * N + n0 + g], a.Bm + (size_t(b) * N + n0 + g) * L, P_s[tid][g], S_s[tid][g]);
      __syncthreads();
      if (tid < G) {
        starts[size_t(c) * N + n0 + tid] = carry[n0 + tid];
        carry[n0 + tid] = run_pairs(P_s, S_s, tid, carry[n0 + tid]);
      }
      __syncthreads();
    }
  }
  for (int n = tid; n < N; n += kThreads) carry[n] = 0.f;  // now the r entering each chunk from the right
  double dD_acc = 0.0, dbias_acc = 0.0;
  // pass 2: the chunks from the last
  for (int c = chunks - 1; c >= 0; --c) {
    const Steps s = load_steps(a, row, c * kChunk, e);
    float dy[kItems], du_acc[kItems], ddt[kItems], ypre[kItems];
#pragma unroll
    for (int j = 0; j < kItems; ++j) {
      dy[j] = du_acc[j] = ddt[j] = ypre[j] = 0.f;
      if (!s.valid[j]) continue;
      const float g = dout[row + s.t[j]];
      dy[j] = g;
      if (a.z) {
        const float zt = a.z[row + s.t[j]];
        dy[j] = g * zt * scalar::sigmoid(zt);
      }
      if (a.D) du_acc[j] = dy[j] * a.D[e], ypre[j] = a.D[e] * s.u[j];
    }
    __syncthreads();  // the previous chunk's last readers of the tables are done (and carry is set)
    for (int n0 = 0; n0 < N; n0 += kGroup) {
      const int G = min(kGroup, N - n0);
      // forward: the state before each thread's steps, from the chunk's start
      for (int g = 0; g < G; ++g)
        compose_forward(s, a.A[e * N + n0 + g], a.Bm + (size_t(b) * N + n0 + g) * L, P_s[tid][g], S_s[tid][g]);
      __syncthreads();
      if (tid < G) run_pairs(P_s, S_s, tid, starts[size_t(c) * N + n0 + tid]);
      __syncthreads();
      // reverse: this thread's steps composed right to left
      for (int g = 0; g < G; ++g) {
        const int n = n0 + g;
        const float An = a.A[e * N + n];
        const float* Cn = a.Cm + (size_t(b) * N + n) * L;
        float P = 1.f, S = 0.f;
#pragma unroll
        for (int j = kItems - 1; j >= 0; --j)
          if (s.valid[j]) {
            const float d = expf(s.dt[j] * An);
            S = d * (dy[j] * Cn[s.t[j]] + S);
            P *= d;
          }
        P_s[tid][g] = P;
        R_s[tid][g] = S;
      }
      __syncthreads();
      if (tid < G) {  // right to left from the r entering the chunk
        float r = carry[n0 + tid];
        for (int i = kThreads - 1; i >= 0; --i) {
          const float in = r;
          r = P_s[i][tid] * r + R_s[i][tid];
          R_s[i][tid] = in;
        }
        carry[n0 + tid] = r;
      }
      __syncthreads();
      // every step's gradients, from the state before this thread's steps and the r after them
      for (int g = 0; g < G; ++g) {
        const int n = n0 + g;
        const float An = a.A[e * N + n];
        const float *Bn = a.Bm + (size_t(b) * N + n) * L, *Cn = a.Cm + (size_t(b) * N + n) * L;
        float* dBn = dB_buf + (row / L * N + n) * L;  // (b, e, n, ·)
        float* dCn = dC_buf + (row / L * N + n) * L;
        float d[kItems], h[kItems], hprev[kItems];
        float hv = S_s[tid][g];
#pragma unroll
        for (int j = 0; j < kItems; ++j) {
          d[j] = 1.f;
          hprev[j] = hv;
          if (s.valid[j]) {
            d[j] = expf(s.dt[j] * An);
            hv = d[j] * hv + s.dt[j] * s.u[j] * Bn[s.t[j]];
          }
          h[j] = hv;
        }
        float r = R_s[tid][g], dA_terms = 0.f;
#pragma unroll
        for (int j = kItems - 1; j >= 0; --j) {
          if (!s.valid[j]) continue;
          const int t = s.t[j];
          const float Bv = Bn[t], Cv = Cn[t];
          const float gk = dy[j] * Cv + r;  // the gradient on h_k
          ypre[j] += Cv * h[j];
          dCn[t] = dy[j] * h[j];
          dBn[t] = gk * s.dt[j] * s.u[j];
          du_acc[j] += gk * s.dt[j] * Bv;
          const float through_decay = gk * hprev[j] * d[j];  // ∂/∂(Δ A) of a_k h_{k-1}
          ddt[j] += gk * Bv * s.u[j] + through_decay * An;
          dA_terms += through_decay * s.dt[j];
          r = d[j] * gk;
        }
        P_s[tid][g] = dA_terms;  // P_s is free: the reverse pairs were read before the last barrier
      }
      __syncthreads();
      if (tid < G) {
        double sum = 0.0;
        for (int i = 0; i < kThreads; ++i) sum += P_s[i][tid];
        dA_acc[n0 + tid] += sum;
      }
      __syncthreads();  // the tables are rewritten by the next group
    }
#pragma unroll
    for (int j = 0; j < kItems; ++j) {
      if (!s.valid[j]) continue;
      const int t = s.t[j];
      if (a.z && dz) {
        const float g = dout[row + t], zt = a.z[row + t], sg = scalar::sigmoid(zt);
        dz[row + t] = g * ypre[j] * sg * (1.f + zt * (1.f - sg));
      }
      if (a.D) dD_acc += double(dy[j]) * s.u[j];
      float gdt = ddt[j];
      if (a.softplus) gdt *= scalar::softplus_grad(a.delta[row + t] + (a.delta_bias ? a.delta_bias[e] : 0.f));
      if (ddelta) ddelta[row + t] = gdt;
      dbias_acc += gdt;
      if (du) du[row + t] = du_acc[j];
    }
  }
  // dA, dD, dΔ-bias of this (b, e): block sums in a fixed order
  for (int n = tid; n < N; n += kThreads) dA_part[(size_t(b) * a.E + e) * N + n] = dA_acc[n];
  auto block_total = [&](double v) {  // on thread 0: the block's values summed in thread order
    red[tid] = v;
    __syncthreads();
    double sum = 0.0;
    if (tid == 0)
      for (int i = 0; i < kThreads; ++i) sum += red[i];
    __syncthreads();  // red is rewritten by the next total
    return sum;
  };
  const double dD_total = block_total(dD_acc), dbias_total = block_total(dbias_acc);
  if (tid == 0) dD_part[size_t(b) * a.E + e] = dD_total, dbias_part[size_t(b) * a.E + e] = dbias_total;
}

// dB[b, n, t] = Σ_e buf[b, e, n, t], summed in channel order (deterministic); consecutive threads, consecutive t.
__global__ void __launch_bounds__(kReduceThreads)
    reduce_over_channels(const float* buf, float* out, int B, int E, int L, int N) {
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;  // over (b, n, t)
  if (i >= size_t(B) * N * L) return;
  const size_t t = i % L, n = i / L % N, b = i / (size_t(N) * L);
  float acc = 0.f;
  for (int e = 0; e < E; ++e) acc += buf[((b * E + e) * N + n) * L + t];
  out[i] = acc;
}

// out[j] = Σ_b part[b, j] for j over `width` entries, in batch order, in double.
__global__ void __launch_bounds__(kReduceThreads) reduce_over_batch(const double* part, float* out, int B, int width) {
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= width) return;
  double acc = 0.0;
  for (int b = 0; b < B; ++b) acc += part[size_t(b) * width + j];
  out[j] = float(acc);
}

void check_shape(const cpu::ScanArgs<float>& a) {
  HATTN_CHECK(a.N >= 1 && a.N <= kScanMaxStates, "selective_scan (CUDA): d_state ", a.N, " outside 1..",
              kScanMaxStates);
  HATTN_CHECK(a.B <= 65535, "selective_scan (CUDA): batch ", a.B, " over 65,535");
}

}  // namespace

void selective_scan_forward(const cpu::ScanArgs<float>& a, float* out, int device) {
  check_shape(a);
  if (a.B == 0 || a.E == 0 || a.L == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  HATTN_LAUNCH(dim3(unsigned(a.E), unsigned(a.B)), kThreads, 0, scan_forward_kernel)(device_args(a), out);
  HATTN_CUDA_CHECK(cudaGetLastError());
}

void selective_scan_backward(const cpu::ScanArgs<float>& a, const float* dout, float* du, float* ddelta, float* dA,
                             float* dB, float* dC, float* dD, float* dz, float* ddelta_bias, int device) {
  check_shape(a);
  if (a.B == 0 || a.E == 0 || a.L == 0) {  // nothing to scan: every gradient with entries is zero
    const size_t bnl = size_t(a.B) * a.N * a.L * sizeof(float);
    if (dA) memset_zero(dA, size_t(a.E) * a.N * sizeof(float), device);
    if (dD) memset_zero(dD, size_t(a.E) * sizeof(float), device);
    if (ddelta_bias) memset_zero(ddelta_bias, size_t(a.E) * sizeof(float), device);
    if (dB) memset_zero(dB, bnl, device);
    if (dC) memset_zero(dC, bnl, device);
    return;
  }
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  const size_t BELN = size_t(a.B) * a.E * a.L * a.N, chunks = size_t((a.L + kChunk - 1) / kChunk);
  const DeviceScratch<float> h_start(size_t(a.B) * a.E * chunks * a.N, device), dB_buf(BELN, device),
      dC_buf(BELN, device);
  const DeviceScratch<double> dA_part(size_t(a.B) * a.E * a.N, device), dD_part(size_t(a.B) * a.E, device),
      dbias_part(size_t(a.B) * a.E, device);
  HATTN_LAUNCH(dim3(unsigned(a.E), unsigned(a.B)), kThreads, 0, scan_backward_kernel)(
      device_args(a), dout, du, ddelta, dz, h_start.get(), dB_buf.get(), dC_buf.get(), dA_part.get(), dD_part.get(),
      dbias_part.get());
  HATTN_CUDA_CHECK(cudaGetLastError());
  const size_t bnl = size_t(a.B) * a.N * a.L;
  const unsigned blocks = unsigned((bnl + kReduceThreads - 1) / kReduceThreads);
  auto over = [](int64_t n) { return unsigned((n + kReduceThreads - 1) / kReduceThreads); };
  if (dB) HATTN_LAUNCH(blocks, kReduceThreads, 0, reduce_over_channels)(dB_buf.get(), dB, int(a.B), int(a.E), int(a.L), int(a.N));
  if (dC) HATTN_LAUNCH(blocks, kReduceThreads, 0, reduce_over_channels)(dC_buf.get(), dC, int(a.B), int(a.E), int(a.L), int(a.N));
  if (dA) HATTN_LAUNCH(over(a.E * a.N), kReduceThreads, 0, reduce_over_batch)(dA_part.get(), dA, int(a.B), int(a.E * a.N));
  if (dD) HATTN_LAUNCH(over(a.E), kReduceThreads, 0, reduce_over_batch)(dD_part.get(), dD, int(a.B), int(a.E));
  if (ddelta_bias)
    HATTN_LAUNCH(over(a.E), kReduceThreads, 0, reduce_over_batch)(dbias_part.get(), ddelta_bias, int(a.B), int(a.E));
  HATTN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ha::cuda
