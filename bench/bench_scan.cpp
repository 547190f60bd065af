// The fused selective scan on Vim's shapes: batch 1, N = 16, L in {197, 730} (stride 16 and 8),
// E in {384, 768} (inner width of tiny and small). Counts per (b, e, t, n): exp + 6 flops = 7 "flops"
// (exp counted as one); bytes: u, delta, z, out (B*E*L each) + B, C (B*N*L each) + A, read/written once.
#include <benchmark/benchmark.h>

#include "ops/ops.h"
#include "tensor/random.h"

namespace {

ha::ScanInputs make(int64_t B, int64_t E, int64_t L, int64_t N) {
  ha::Generator g(1);
  using ha::DType;
  return {ha::randn({B, E, L}, DType::F32, g), ha::randn({B, E, L}, DType::F32, g),
          ha::mul(ha::uniform({E, N}, 0.5, 2, DType::F32, g), -1.0), ha::randn({B, N, L}, DType::F32, g),
          ha::randn({B, N, L}, DType::F32, g), ha::randn({E}, DType::F32, g), ha::randn({B, E, L}, DType::F32, g),
          ha::randn({E}, DType::F32, g), true, false};
}

void counters(benchmark::State& state, int64_t B, int64_t E, int64_t L, int64_t N, double passes) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(passes * 7e-9 * B * E * L * N, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GB/s"] = benchmark::Counter(passes * 4e-9 * (4.0 * B * E * L + 2.0 * B * N * L + E * N),
                                              benchmark::Counter::kIsIterationInvariantRate);
}

void BM_ScanForward(benchmark::State& state) {
  const int64_t B = 1, E = state.range(0), L = state.range(1), N = 16;
  ha::ScanInputs s = make(B, E, L, N);
  for (auto _ : state) benchmark::DoNotOptimize(ha::selective_scan(s).raw_data());
  counters(state, B, E, L, N, 1);
}

// Forward + backward; the backward recomputes the states, so it is ~3 forward passes of work.
void BM_ScanForwardBackward(benchmark::State& state) {
  const int64_t B = 1, E = state.range(0), L = state.range(1), N = 16;
  ha::ScanInputs s = make(B, E, L, N);
  for (ha::Tensor* t : {&s.u, &s.delta, &s.A, &s.Bm, &s.Cm, &s.D, &s.z, &s.delta_bias}) t->requires_grad_();
  for (auto _ : state) {
    ha::Tensor y = ha::selective_scan(s);
    ha::sum(y).backward();
    benchmark::DoNotOptimize(s.u.grad().raw_data());
    for (ha::Tensor* t : {&s.u, &s.delta, &s.A, &s.Bm, &s.Cm, &s.D, &s.z, &s.delta_bias}) t->zero_grad();
  }
  counters(state, B, E, L, N, 4);
}

// Mamba-2's scan at the 130m shape (24 heads of P = 64, N = 128, one group): the chunked SSD form against the
// recurrence it replaces (one selective scan over the 1,536 channels with N = 128). GFLOP/s counts the chunked
// form's multiply-adds as 2 flops: per chunk and head 2·Q·Q·P (scores × X) + 2·Q·P·N (state) + 2·Q·N·P (C × state),
// and per chunk and group 2·Q·Q·N (C Bᵀ).
void BM_Ssd(benchmark::State& state) {
  const int64_t H = 24, P = 64, N = 128, L = state.range(0), Q = state.range(1);
  ha::Generator g(1);
  using ha::DType;
  ha::SsdInputs in{ha::randn({1, H * P, L}, DType::F32, g), ha::uniform({1, H, L}, 0.01, 1.0, DType::F32, g),
                   ha::mul(ha::uniform({H}, 0.5, 2, DType::F32, g), -1.0), ha::randn({1, N, L}, DType::F32, g),
                   ha::randn({1, N, L}, DType::F32, g), ha::randn({H}, DType::F32, g), 1, Q};
  const bool backward = state.range(2) != 0;
  if (backward)
    for (ha::Tensor* t : {&in.x, &in.delta, &in.A, &in.Bm, &in.Cm, &in.D}) t->requires_grad_();
  for (auto _ : state) {
    ha::Tensor y = ha::ssd_chunked(in);
    if (backward) {
      ha::sum(y).backward();
      for (ha::Tensor* t : {&in.x, &in.delta, &in.A, &in.Bm, &in.Cm, &in.D}) t->zero_grad();
    }
    benchmark::DoNotOptimize(y.raw_data());
  }
  const double flops = 2.0 * L * (H * (Q * P + 2.0 * P * N) + Q * N) * (backward ? 3 : 1);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_SsdAsScan(benchmark::State& state) {
  const int64_t E = 24 * 64, N = 128, L = state.range(0);
  ha::ScanInputs s = make(1, E, L, N);
  s.z = ha::Tensor();
  for (auto _ : state) benchmark::DoNotOptimize(ha::selective_scan(s).raw_data());
  counters(state, 1, E, L, N, 1);
}

void shapes(benchmark::internal::Benchmark* b) {
  for (int64_t e : {384, 768})
    for (int64_t l : {197, 730}) b->Args({e, l});
}

}  // namespace

BENCHMARK(BM_ScanForward)->Name("scan_forward")->Apply(shapes)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ScanForwardBackward)->Name("scan_forward_backward")->Apply(shapes)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Ssd)->Name("ssd_chunked")->ArgNames({"L", "Q", "bwd"})->Args({512, 32, 0})->Args({512, 64, 0})->Args({512, 128, 0})->Args({2048, 64, 0})->Args({512, 64, 1})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SsdAsScan)->Name("ssd_as_scan")->Arg(512)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
