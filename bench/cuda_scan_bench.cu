// CUDA selective scan timed with CUDA events (our own harness: the GPU machine has no Google Benchmark).
// Variant 1 (the production kernel, ops/cuda/selective_scan.cu): one thread per (batch, channel), states in
// registers. Reports ms, GB/s (u, delta, z, out once each + B, C once) and GFLOP/s (7 per state update).
#include <cuda_runtime.h>

#include <cstdio>
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

}  // namespace

int main() {
  if (!ha::cuda::available()) {
    std::printf("no CUDA device; nothing to benchmark\n");
    return 0;
  }
  cudaDeviceProp prop{};
  HATTN_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("# %s, %d SMs\n", prop.name, prop.multiProcessorCount);
  std::printf("%-28s %10s %10s %10s %10s\n", "shape (B x E x L, N 16)", "fwd ms", "fwd GB/s", "fwd GFLOP/s", "fwd+bwd ms");
  for (int64_t B : {1, 64})
    for (int64_t E : {384, 768})
      for (int64_t L : {197, 730}) {
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
        const float fwd = time([&] { ha::cuda::selective_scan_forward(a, out, 0); }, 20);
        const float both = time([&] {
          ha::cuda::selective_scan_forward(a, out, 0);
          ha::cuda::selective_scan_backward(a, out, du, dd, dA, dB, dC, dD, dz, db, 0);
        }, 5);
        const double bytes = 4.0 * (4.0 * B * E * L + 2.0 * B * N * L);
        std::printf("%4lld x %4lld x %4lld              %10.3f %10.1f %10.1f %10.3f\n", (long long)B, (long long)E,
                    (long long)L, fwd, bytes / fwd / 1e6, 7.0 * B * E * L * N / fwd / 1e6, both);
        for (float* p : {u, dl, A, Bm, Cm, D, z, bias, out, dout, du, dd, dA, dB, dC, dD, dz, db}) cudaFree(p);
      }
  return 0;
}
