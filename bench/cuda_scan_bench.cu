// CUDA selective scan timed with CUDA events (our own harness: the GPU machine has no Google Benchmark).
//   production (ops/cuda/selective_scan.cu): one block per (batch, channel), each thread kItems consecutive
//     steps of a chunk, the states scanned 16 at a time through per-thread (decay, state) pairs in shared
//     memory; no state in registers (forward, and forward + backward)
//   A. one thread per channel: one thread per (batch, channel), the N states in registers, L sequential steps
//     (llama.cpp's design, the production kernel before; forward only, N = 16)
//   B. segments: one block per (batch, channel); each thread scans a segment of L for every state in
//     registers, the segment summaries (decay product, end state) are combined in order, and each thread
//     re-runs its segment from its carried-in state (mamba's design without cub; forward only, N = 16)
// Reports ms, GB/s (u, delta, z, out once each + B, C once) and GFLOP/s (7 per state update) of the production
// forward, the alternatives' ms, and the largest difference between their outputs and production's.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "ops/cuda/selective_scan_cuda.h"
#include "ops/ops.h"
#include "tensor/cuda/cuda_memory.h"
#include "tensor/cuda/cuda_check.h"
#include "tensor/random.h"

namespace {

float* upload(const ha::Tensor& t) {
  float* p = nullptr;
  HATTN_CUDA_CHECK(cudaMalloc(&p, t.numel() * sizeof(float)));
  HATTN_CUDA_CHECK(cudaMemcpy(p, t.data<float>(), t.numel() * sizeof(float), cudaMemcpyHostToDevice));
  return p;
}

constexpr int kSegThreads = 128, kMaxN = 16;

__device__ __forceinline__ float softplus_(float v) { return v > 20.f ? v : log1pf(expf(v)); }

constexpr int kChannelThreads = 128;

// A: one thread per (b, e), the states in registers.
__global__ void __launch_bounds__(kChannelThreads) channel_forward_kernel(ha::cpu::ScanArgs<float> a, float* out) {
  const int e = blockIdx.x * blockDim.x + threadIdx.x, b = blockIdx.y, L = int(a.L), N = int(a.N);
  if (e >= a.E) return;
  const size_t row = (size_t(b) * a.E + e) * L;
  const float bias = a.delta_bias ? a.delta_bias[e] : 0.f;
  float h[kMaxN], A[kMaxN];
#pragma unroll
  for (int n = 0; n < kMaxN; ++n) h[n] = 0.f, A[n] = n < N ? a.A[e * N + n] : 0.f;
  for (int t = 0; t < L; ++t) {
    const float dt = softplus_(a.delta[row + t] + bias), ut = a.u[row + t], dtu = dt * ut;
    float y = 0.f;
#pragma unroll
    for (int n = 0; n < kMaxN; ++n)
      if (n < N) {
        const size_t bn = (size_t(b) * N + n) * L + t;
        h[n] = expf(dt * A[n]) * h[n] + dtu * a.Bm[bn];
        y += a.Cm[bn] * h[n];
      }
    y += a.D ? a.D[e] * ut : 0.f;
    const float zt = a.z[row + t];
    out[row + t] = y * zt / (1.f + expf(-zt));
  }
}

// B: segments, the states in registers.
__global__ void __launch_bounds__(kSegThreads) segment_forward_kernel(ha::cpu::ScanArgs<float> a, float* out) {
  const int e = blockIdx.x, b = blockIdx.y, L = int(a.L), N = int(a.N), tid = threadIdx.x;
  const size_t row = (size_t(b) * a.E + e) * L;
  const int seg = (L + kSegThreads - 1) / kSegThreads, t0 = tid * seg, t1 = min(L, t0 + seg);
  HATTN_SHARED_ARRAY(float[kMaxN], P_s, kSegThreads);
  HATTN_SHARED_ARRAY(float[kMaxN], H_s, kSegThreads);
  float A[kMaxN], h[kMaxN], P[kMaxN];
#pragma unroll
  for (int n = 0; n < kMaxN; ++n) A[n] = n < N ? a.A[e * N + n] : 0.f, h[n] = 0.f, P[n] = 1.f;
  const float bias = a.delta_bias ? a.delta_bias[e] : 0.f;
  // 1. this segment's summary: h_end = Π decay · h_in + local, with h_in = 0
  for (int t = t0; t < t1; ++t) {
    const float dt = softplus_(a.delta[row + t] + bias), dtu = dt * a.u[row + t];
#pragma unroll
    for (int n = 0; n < kMaxN; ++n) {
      if (n < N) {
        const float d = expf(dt * A[n]);
        P[n] *= d;
        h[n] = d * h[n] + dtu * a.Bm[(size_t(b) * N + n) * L + t];
      }
    }
  }
#pragma unroll
  for (int n = 0; n < kMaxN; ++n) P_s[tid][n] = P[n], H_s[tid][n] = h[n];
  __syncthreads();
  // 2. carries in segment order, one thread per state
  if (tid < N) {
    float carry = 0.f;
    for (int s = 0; s < kSegThreads; ++s) {
      const float next = P_s[s][tid] * carry + H_s[s][tid];
      H_s[s][tid] = carry;  // now: the state entering segment s
      carry = next;
    }
  }
  __syncthreads();
  // 3. rerun the segment from its carried-in state and write the outputs
#pragma unroll
  for (int n = 0; n < kMaxN; ++n) h[n] = H_s[tid][n];
  for (int t = t0; t < t1; ++t) {
    const float dt = softplus_(a.delta[row + t] + bias), ut = a.u[row + t], dtu = dt * ut;
    float y = 0.f;
#pragma unroll
    for (int n = 0; n < kMaxN; ++n) {
      if (n < N) {
        h[n] = expf(dt * A[n]) * h[n] + dtu * a.Bm[(size_t(b) * N + n) * L + t];
        y += a.Cm[(size_t(b) * N + n) * L + t] * h[n];
      }
    }
    y += a.D ? a.D[e] * ut : 0.f;
    const float zt = a.z[row + t];
    out[row + t] = y * zt / (1.f + expf(-zt));
  }
}

}  // namespace

// --quick: one small shape, one iteration (what `make cuda-emu` runs: the harness and the alternatives work and
// agree with the production kernel; exit status 1 when one differs beyond 1e-4 of max |y|).
int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  bool agree = true;
  if (!ha::cuda::available()) {
    std::printf("no CUDA device; nothing to benchmark\n");
    return 0;
  }
  cudaDeviceProp prop{};
  HATTN_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("# %s, %d SMs\n", prop.name, prop.multiProcessorCount);
  std::printf("%-22s %9s %9s %9s %10s | %9s %9s | %9s\n", "B x E x L (N 16)", "fwd ms", "GB/s", "GFLOP/s",
              "fwd+bwd ms", "A: fwd ms", "B: fwd ms", "max diff");
  const std::vector<int64_t> Bs = quick ? std::vector<int64_t>{1} : std::vector<int64_t>{1, 64};
  const std::vector<int64_t> Es = quick ? std::vector<int64_t>{384} : std::vector<int64_t>{384, 768};
  const std::vector<int64_t> Ls = quick ? std::vector<int64_t>{197} : std::vector<int64_t>{197, 730};
  const int reps = quick ? 1 : 20, reps_both = quick ? 1 : 5;
  for (int64_t B : Bs)
    for (int64_t E : Es)
      for (int64_t L : Ls) {
        const int64_t N = 16;
        ha::Generator g(1);
        using ha::DType;
        float* u = upload(ha::randn({B, E, L}, DType::F32, g));
        float* dl = upload(ha::randn({B, E, L}, DType::F32, g));
        float* A = upload(ha::mul(ha::uniform({E, N}, 0.5, 2, DType::F32, g), -1.0));
        float* Bm = upload(ha::randn({B, N, L}, DType::F32, g));
        float* Cm = upload(ha::randn({B, N, L}, DType::F32, g));
        float* D = upload(ha::randn({E}, DType::F32, g));
        float* z = upload(ha::randn({B, E, L}, DType::F32, g));
        float* bias = upload(ha::randn({E}, DType::F32, g));
        float *out, *dout, *du, *dd, *dA, *dB, *dC, *dD, *dz, *db;
        for (float** p : {&out, &dout, &du, &dd, &dz}) HATTN_CUDA_CHECK(cudaMalloc(p, B * E * L * 4));
        for (float** p : {&dB, &dC}) HATTN_CUDA_CHECK(cudaMalloc(p, B * N * L * 4));
        HATTN_CUDA_CHECK(cudaMalloc(&dA, E * N * 4));
        HATTN_CUDA_CHECK(cudaMalloc(&dD, E * 4));
        HATTN_CUDA_CHECK(cudaMalloc(&db, E * 4));
        ha::cpu::ScanArgs<float> a{B, E, L, N, u, dl, A, Bm, Cm, D, z, bias, true, false};
        cudaEvent_t t0, t1;
        cudaEventCreate(&t0);
        cudaEventCreate(&t1);
        auto time = [&](auto fn, int iters) {
          fn();  // warm-up
          HATTN_CUDA_CHECK(cudaDeviceSynchronize());
          cudaEventRecord(t0);
          for (int i = 0; i < iters; ++i) fn();
          cudaEventRecord(t1);
          cudaEventSynchronize(t1);
          float ms = 0;
          cudaEventElapsedTime(&ms, t0, t1);
          return ms / iters;
        };
        const float fwd = time([&] { ha::cuda::selective_scan_forward(a, out, 0); }, reps);
        const float both = time([&] {
          ha::cuda::selective_scan_forward(a, out, 0);
          ha::cuda::selective_scan_backward(a, out, du, dd, dA, dB, dC, dD, dz, db, 0);
        }, reps_both);
        const double bytes = 4.0 * (4.0 * B * E * L + 2.0 * B * N * L);
        float *out_a = nullptr, *out_b = nullptr;
        HATTN_CUDA_CHECK(cudaMalloc(&out_a, B * E * L * 4));
        HATTN_CUDA_CHECK(cudaMalloc(&out_b, B * E * L * 4));
        const dim3 channel_grid(unsigned((E + kChannelThreads - 1) / kChannelThreads), unsigned(B));
        const float fwd_a = time([&] {
          HATTN_LAUNCH(channel_grid, kChannelThreads, 0, channel_forward_kernel)(a, out_a);
        }, reps);
        const float fwd_b = time([&] {
          HATTN_LAUNCH(dim3(unsigned(E), unsigned(B)), kSegThreads, 0, segment_forward_kernel)(a, out_b);
        }, reps);
        HATTN_CUDA_CHECK(cudaGetLastError());
        ha::cuda::selective_scan_forward(a, out, 0);
        std::vector<float> h0(B * E * L), ha_(B * E * L), hb(B * E * L);
        HATTN_CUDA_CHECK(cudaMemcpy(h0.data(), out, h0.size() * 4, cudaMemcpyDeviceToHost));
        HATTN_CUDA_CHECK(cudaMemcpy(ha_.data(), out_a, ha_.size() * 4, cudaMemcpyDeviceToHost));
        HATTN_CUDA_CHECK(cudaMemcpy(hb.data(), out_b, hb.size() * 4, cudaMemcpyDeviceToHost));
        double diff = 0, scale = 0;
        for (size_t i = 0; i < h0.size(); ++i) {
          diff = std::max({diff, double(std::abs(h0[i] - ha_[i])), double(std::abs(h0[i] - hb[i]))});
          scale = std::max(scale, double(std::abs(h0[i])));
        }
        std::printf("%4lld x %4lld x %4lld     %9.3f %9.1f %9.1f %10.3f | %9.3f %9.3f | %9.2e\n", (long long)B,
                    (long long)E, (long long)L, fwd, bytes / fwd / 1e6, 7.0 * B * E * L * N / fwd / 1e6, both, fwd_a,
                    fwd_b, scale > 0 ? diff / scale : diff);
        agree = agree && diff <= 1e-4 * scale;
        for (float* p : {u, dl, A, Bm, Cm, D, z, bias, out, out_a, out_b, dout, du, dd, dA, dB, dC, dD, dz, db}) cudaFree(p);
      }
  if (!agree) std::fprintf(stderr, "cuda_scan_bench: an alternative differs from the production kernel\n");
  return agree ? 0 : 1;
}
