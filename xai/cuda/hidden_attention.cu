// Hidden-attention rows and matrices on the GPU (see hidden_attention_cuda.h).
#include "xai/cuda/hidden_attention_cuda.h"

#include "ops/scalar_math.h"
#include "tensor/cuda/cuda_check.h"

namespace ha::xai::cuda {
namespace {

constexpr int kRowThreads = 128;         // channels per block of rows_kernel

__global__ void __launch_bounds__(kRowThreads) rows_kernel(TraceView t, int64_t q, Row kind, float* out) {
  const int64_t d = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (d >= t.E) return;
  const int64_t L = t.L, N = t.N;
  float A[kMaxStates], cq[kMaxStates], P[kMaxStates];
#pragma unroll
  for (int n = 0; n < kMaxStates; ++n) {
    A[n] = n < N ? t.A[d * N + n] : 0.f;
    cq[n] = n < N ? t.C[n * L + q] : 0.f;
    P[n] = 1.f;
  }
  const float* dl = t.delta + d * L;
  float* o = out + d * L;
  // Official: C_q against the product up to q - 1, no diagonal (the released code's vector)
  for (int64_t j = kind == Row::Official ? q - 1 : q; j >= 0; --j) {
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
  if (kind != Row::Unified) return;
  // α̂[q, j] = SiLU(z_q) Σ_{c=j..min(j+K−1, q)} w[j−c+K−1] σ(pre_c) α[q, c], in place, j ascending
  const float zq = t.z[d * L + q], gate = zq * scalar::sigmoid(zq);
  for (int64_t c = 0; c <= q; ++c) o[c] *= scalar::sigmoid(t.pre[d * L + c]);
  const float* w = t.w + d * t.K;
  for (int64_t j = 0; j <= q; ++j) {
    float acc = 0.f;
    for (int64_t c = j; c <= min(j + t.K - 1, q); ++c) acc += w[j - c + t.K - 1] * o[c];
    o[j] = gate * acc;
  }
}

__global__ void __launch_bounds__(kMaxTokens) matrices_kernel(TraceView t, int64_t c0, bool reversed, float* out) {
  const int64_t d = c0 + blockIdx.x, j = threadIdx.x, L = t.L, N = t.N;
  __shared__ float E_s[kMaxStates], C_s[kMaxStates], drive_s[kMaxStates];
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

}  // namespace

void rows(const TraceView& t, int64_t q, Row kind, float* out, int device) {
  HATTN_CHECK(t.N <= kMaxStates, "hidden attention (CUDA): N = ", t.N, " states, at most ", kMaxStates);
  HATTN_CHECK(q >= 0 && q < t.L, "hidden attention: row ", q, " out of range for ", t.L, " tokens");
  if (t.E == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  const int threads = kRowThreads;
  HATTN_LAUNCH(unsigned((t.E + threads - 1) / threads), threads, 0, rows_kernel)(t, q, kind, out);
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
