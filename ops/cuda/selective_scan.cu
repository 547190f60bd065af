// CUDA selective scan, forward and backward (see selective_scan_cuda.h and ops/selective_scan.cpp for the math).
#include "ops/cuda/selective_scan_cuda.h"

#include <type_traits>

#include "ops/scalar_math.h"
#include "tensor/cuda/cuda_check.h"

namespace ha::cuda {
namespace {

constexpr int kThreads = 128;        // (batch, channel) rows per block of the scan kernels
constexpr int kReduceThreads = 256;  // the reductions of the partial gradients

struct Args {
  int B, E, L, N;
  const float *u, *delta, *A, *Bm, *Cm, *D, *z, *delta_bias;
  bool softplus, reverse;
};

Args device_args(const cpu::ScanArgs<float>& a) {
  return {int(a.B), int(a.E), int(a.L), int(a.N), a.u, a.delta, a.A, a.Bm, a.Cm, a.D, a.z, a.delta_bias,
          a.delta_softplus, a.reverse};
}

__device__ __forceinline__ float step_delta(const Args& a, int e, float raw) {
  float v = raw + (a.delta_bias ? a.delta_bias[e] : 0.f);
  if (a.softplus) v = scalar::softplus(v);
  return v;
}

// One thread per (b, e): the states live in registers (MaxN of them: Vim's N = 16 fits; Mamba-2's 128 spills to
// local memory, which is slower but the same arithmetic).
// __launch_bounds__(kThreads, 1): launches fit by construction, registers as before (up to 255; N >= 64 spills,
// as it did without bounds: Mamba-2's chunked form is meant to retire those instantiations).
template <int MaxN>
__global__ void __launch_bounds__(kThreads, 1) scan_forward_kernel(Args a, float* out) {
  const int e = blockIdx.x * blockDim.x + threadIdx.x, b = blockIdx.y;
  if (e >= a.E) return;
  const int L = a.L, N = a.N;
  const size_t row = (size_t(b) * a.E + e) * L;
  float h[MaxN], A[MaxN];
#pragma unroll
  for (int n = 0; n < MaxN; ++n) h[n] = 0.f, A[n] = n < N ? a.A[e * N + n] : 0.f;
  for (int k = 0; k < L; ++k) {
    const int t = a.reverse ? L - 1 - k : k;
    const float dt = step_delta(a, e, a.delta[row + t]), ut = a.u[row + t], dtu = dt * ut;
    float y = 0.f;
#pragma unroll
    for (int n = 0; n < MaxN; ++n) {
      if (n < N) {
        const size_t bn = (size_t(b) * N + n) * L + t;
        h[n] = expf(dt * A[n]) * h[n] + dtu * a.Bm[bn];
        y += a.Cm[bn] * h[n];
      }
    }
    if (a.D) y += a.D[e] * ut;
    if (a.z) {
      const float zt = a.z[row + t];
      y *= zt * scalar::sigmoid(zt);
    }
    out[row + t] = y;
  }
}

// Backward of one (b, e). hs: scratch (B, E, L, N) for the recomputed states; dB_buf, dC_buf: (B, E, L, N)
// per-channel contributions; dA_part (B, E, N), dD_part and dbias_part (B, E): reduced by later kernels.
template <int MaxN>
__global__ void __launch_bounds__(kThreads, 1) scan_backward_kernel(Args a, const float* dout, float* du, float* ddelta, float* dz, float* hs,
                                     float* dB_buf, float* dC_buf, float* dA_part, float* dD_part, float* dbias_part) {
  const int e = blockIdx.x * blockDim.x + threadIdx.x, b = blockIdx.y;
  if (e >= a.E) return;
  const int L = a.L, N = a.N;
  const size_t row = (size_t(b) * a.E + e) * L;
  float* my_h = hs + row * N;  // (L, N), indexed by processing step k
  float A[MaxN], h[MaxN], dh[MaxN], dA_acc[MaxN];
#pragma unroll
  for (int n = 0; n < MaxN; ++n) A[n] = n < N ? a.A[e * N + n] : 0.f, h[n] = 0.f, dh[n] = 0.f, dA_acc[n] = 0.f;
  for (int k = 0; k < L; ++k) {  // recompute the states
    const int t = a.reverse ? L - 1 - k : k;
    const float dt = step_delta(a, e, a.delta[row + t]), dtu = dt * a.u[row + t];
#pragma unroll
    for (int n = 0; n < MaxN; ++n)
      if (n < N) {
        h[n] = expf(dt * A[n]) * h[n] + dtu * a.Bm[(size_t(b) * N + n) * L + t];
        my_h[size_t(k) * N + n] = h[n];
      }
  }
  float dD_acc = 0.f, dbias_acc = 0.f;
  for (int k = L - 1; k >= 0; --k) {
    const int t = a.reverse ? L - 1 - k : k;
    const float g = dout[row + t], ut = a.u[row + t];
    const float raw = a.delta[row + t] + (a.delta_bias ? a.delta_bias[e] : 0.f);
    const float dt = a.softplus ? scalar::softplus(raw) : raw;
    float dy = g;
    if (a.z) {
      float ypre = a.D ? a.D[e] * ut : 0.f;
#pragma unroll
      for (int n = 0; n < MaxN; ++n)
        if (n < N) ypre += a.Cm[(size_t(b) * N + n) * L + t] * my_h[size_t(k) * N + n];
      const float zt = a.z[row + t], s = scalar::sigmoid(zt);
      dy = g * zt * s;
      if (dz) dz[row + t] = g * ypre * s * (1.f + zt * (1.f - s));
    }
    float du_t = a.D ? dy * a.D[e] : 0.f, ddt = 0.f;
    if (a.D) dD_acc += dy * ut;
    const size_t buf = (row + t) * N;
#pragma unroll
    for (int n = 0; n < MaxN; ++n) {
      if (n >= N) continue;
      const size_t bn = (size_t(b) * N + n) * L + t;
      const float Bv = a.Bm[bn], Cv = a.Cm[bn], hn = my_h[size_t(k) * N + n];
      const float decay = expf(dt * A[n]);
      dh[n] += dy * Cv;
      dC_buf[buf + n] = dy * hn;
      if (k > 0) {
        const float g_decay = dh[n] * my_h[size_t(k - 1) * N + n] * decay;
        ddt += g_decay * A[n];
        dA_acc[n] += g_decay * dt;
      }
      ddt += dh[n] * Bv * ut;
      dB_buf[buf + n] = dh[n] * dt * ut;
      du_t += dh[n] * dt * Bv;
      dh[n] *= decay;
    }
    if (a.softplus) ddt *= scalar::softplus_grad(raw);
    if (ddelta) ddelta[row + t] = ddt;
    dbias_acc += ddt;
    if (du) du[row + t] = du_t;
  }
#pragma unroll
  for (int n = 0; n < MaxN; ++n)
    if (n < N) dA_part[(size_t(b) * a.E + e) * N + n] = dA_acc[n];
  dD_part[size_t(b) * a.E + e] = dD_acc;
  dbias_part[size_t(b) * a.E + e] = dbias_acc;
}

// dB[b, n, t] = Σ_e buf[b, e, t, n], summed in channel order (deterministic).
__global__ void __launch_bounds__(kReduceThreads) reduce_over_channels(const float* buf, float* out, int B, int E, int L, int N) {
  const size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;  // over (b, t, n)
  if (i >= size_t(B) * L * N) return;
  const int n = i % N, t = (i / N) % L, b = i / (size_t(N) * L);
  float acc = 0.f;
  for (int e = 0; e < E; ++e) acc += buf[((size_t(b) * E + e) * L + t) * N + n];
  out[(size_t(b) * N + n) * L + t] = acc;
}

// out[j] = Σ_b part[b, j] for j over `width` entries, in batch order.
__global__ void __launch_bounds__(kReduceThreads) reduce_over_batch(const float* part, float* out, int B, int width) {
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= width) return;
  float acc = 0.f;
  for (int b = 0; b < B; ++b) acc += part[size_t(b) * width + j];
  out[j] = acc;
}

struct Scratch {
  float* p = nullptr;
  explicit Scratch(size_t n) { HATTN_CUDA_CHECK(cudaMalloc(&p, (n ? n : 1) * sizeof(float))); }
  ~Scratch() { cudaFree(p); }
};

void check_states(const cpu::ScanArgs<float>& a) {
  HATTN_CHECK(a.N <= kScanMaxStates, "selective_scan (CUDA): d_state ", a.N, " exceeds the kernels' ", kScanMaxStates);
}

// The smallest register budget that holds N states.
template <class F>
void with_max_states(int64_t N, F launch) {
  if (N <= 16) launch(std::integral_constant<int, 16>{});
  else if (N <= 64) launch(std::integral_constant<int, 64>{});
  else if (N <= 128) launch(std::integral_constant<int, 128>{});
  else launch(std::integral_constant<int, kScanMaxStates>{});
}

}  // namespace

void selective_scan_forward(const cpu::ScanArgs<float>& a, float* out, int device) {
  check_states(a);
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  dim3 grid(unsigned((a.E + kThreads - 1) / kThreads), unsigned(a.B));
  with_max_states(a.N, [&](auto max_n) {
    HATTN_LAUNCH(grid, kThreads, 0, scan_forward_kernel<decltype(max_n)::value>)(device_args(a), out);
  });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

void selective_scan_backward(const cpu::ScanArgs<float>& a, const float* dout, float* du, float* ddelta, float* dA,
                             float* dB, float* dC, float* dD, float* dz, float* ddelta_bias, int device) {
  check_states(a);
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  const size_t BELN = size_t(a.B) * a.E * a.L * a.N;
  Scratch hs(BELN), dB_buf(BELN), dC_buf(BELN), dA_part(size_t(a.B) * a.E * a.N), dD_part(size_t(a.B) * a.E),
      dbias_part(size_t(a.B) * a.E);
  dim3 grid(unsigned((a.E + kThreads - 1) / kThreads), unsigned(a.B));
  with_max_states(a.N, [&](auto max_n) {
    HATTN_LAUNCH(grid, kThreads, 0, scan_backward_kernel<decltype(max_n)::value>)(
        device_args(a), dout, du, ddelta, dz, hs.p, dB_buf.p, dC_buf.p, dA_part.p, dD_part.p, dbias_part.p);
  });
  HATTN_CUDA_CHECK(cudaGetLastError());
  const size_t bln = size_t(a.B) * a.L * a.N;
  const unsigned blocks = unsigned((bln + kReduceThreads - 1) / kReduceThreads);
  if (dB) HATTN_LAUNCH(blocks, kReduceThreads, 0, reduce_over_channels)(dB_buf.p, dB, int(a.B), int(a.E), int(a.L), int(a.N));
  if (dC) HATTN_LAUNCH(blocks, kReduceThreads, 0, reduce_over_channels)(dC_buf.p, dC, int(a.B), int(a.E), int(a.L), int(a.N));
  if (dA) HATTN_LAUNCH(unsigned((a.E * a.N + kReduceThreads - 1) / kReduceThreads), kReduceThreads, 0, reduce_over_batch)(dA_part.p, dA, int(a.B), int(a.E * a.N));
  if (dD) HATTN_LAUNCH(unsigned((a.E + kReduceThreads - 1) / kReduceThreads), kReduceThreads, 0, reduce_over_batch)(dD_part.p, dD, int(a.B), int(a.E));
  if (ddelta_bias) HATTN_LAUNCH(unsigned((a.E + kReduceThreads - 1) / kReduceThreads), kReduceThreads, 0, reduce_over_batch)(dbias_part.p, ddelta_bias, int(a.B), int(a.E));
  HATTN_CUDA_CHECK(cudaGetLastError());
  HATTN_CUDA_CHECK(cudaDeviceSynchronize());  // the scratch buffers are freed on return
}

}  // namespace ha::cuda
