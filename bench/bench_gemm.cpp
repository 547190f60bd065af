// GEMM on Vision Mamba's shapes: M = 197 * batch tokens, K and N in {192, 384, 768, 1536}
// (D of tiny/small/base and E of base). "ours" is ops/cpu/gemm.cpp; "naive" is the textbook i-k-j loop,
// single-threaded, kept as the floor. GFLOP/s counts 2*M*N*K per call.
#include <benchmark/benchmark.h>

#include <vector>

#include "ops/cpu/gemm.h"
#include "tensor/random.h"

namespace {

void naive_gemm(int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C) {
  for (int64_t i = 0; i < M; ++i) {
    float* c = C + i * N;
    for (int64_t j = 0; j < N; ++j) c[j] = 0;
    for (int64_t k = 0; k < K; ++k) {
      const float a = A[i * K + k];
      const float* b = B + k * N;
      for (int64_t j = 0; j < N; ++j) c[j] += a * b[j];
    }
  }
}

template <bool kNaive>
void BM_Gemm(benchmark::State& state) {
  const int64_t M = state.range(0), K = state.range(1), N = state.range(2);
  ha::Generator g(1);
  ha::Tensor a = ha::randn({M, K}, ha::DType::F32, g), b = ha::randn({K, N}, ha::DType::F32, g);
  std::vector<float> c(M * N);
  for (auto _ : state) {
    if (kNaive) {
      naive_gemm(M, N, K, a.data<float>(), b.data<float>(), c.data());
    } else {
      ha::cpu::gemm<float>(M, N, K, 1.0f, a.data<float>(), K, 1, b.data<float>(), N, 1, 0.0f, c.data(), N);
    }
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2e-9 * M * N * K, benchmark::Counter::kIsIterationInvariantRate);
}

void shapes(benchmark::internal::Benchmark* b, bool naive) {
  for (int64_t batch : {1, 8}) {
    if (naive && batch > 1) continue;  // the naive loop takes seconds per call there
    for (int64_t k : {192, 384, 768, 1536})
      for (int64_t n : {192, 384, 768, 1536}) b->Args({197 * batch, k, n});
  }
}

}  // namespace

BENCHMARK(BM_Gemm<true>)->Name("gemm_naive")->Apply([](auto* b) { shapes(b, true); })->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Gemm<false>)->Name("gemm_ours")->Apply([](auto* b) { shapes(b, false); })->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
