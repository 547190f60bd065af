// Hidden-attention extraction, variant by variant (one channel group of a random trace, N = 16):
//   1 released: the released code's triple loop, O(L^3 N) per matrix (small L only)
//   2 prefix sums: exp(S_i - S_j) with S_i = sum_{k<=i} Δ_k A, O(L^2 N) exps per matrix
//   3 running product (production, xai/hidden_attention.cpp): L N exps, then O(L^2 N) multiply-adds
//   4 one-hot backward scan: a row as the input gradient of a scan whose output gradient is e_q
// Rows: 3 vs 4. L = 197 and 730. Counters: channels per second. Variants 1, 2 and 4 are checked against the
// production result before they are timed.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ops/ops.h"
#include "tensor/random.h"
#include "xai/hidden_attention.h"

namespace {

constexpr int64_t kN = 16;

ha::nn::MixerTrace make_trace(int64_t E, int64_t L) {
  ha::Generator g(1);
  auto dir = [&] {
    ha::nn::DirectionTrace t;
    t.delta = ha::uniform({1, E, L}, 0.001, 0.1, ha::DType::F32, g);
    t.A = ha::mul(ha::uniform({E, kN}, 1, 16, ha::DType::F32, g), -1.0);
    t.Bm = ha::randn({1, kN, L}, ha::DType::F32, g);
    t.Cm = ha::randn({1, kN, L}, ha::DType::F32, g);
    t.D = ha::randn({E}, ha::DType::F32, g);
    t.z = ha::randn({1, E, L}, ha::DType::F32, g);
    t.pre = ha::randn({1, E, L}, ha::DType::F32, g);
    t.conv_weight = ha::randn({E, 4}, ha::DType::F32, g);
    return t;
  };
  return {dir(), dir()};
}

// Variant 1: M[r, c] = sum_n C[n, r] prod_{k=c+1..r} exp(Δ_k A_n) Δ_c B[n, c]
void released_matrix(const ha::nn::DirectionTrace& t, int64_t d, std::vector<float>& M) {
  const int64_t L = t.delta.size(2);
  const float* dl = t.delta.data<float>() + d * L;
  const float* A = t.A.data<float>() + d * kN;
  const float* B = t.Bm.data<float>();
  const float* C = t.Cm.data<float>();
  M.assign(L * L, 0.0f);
  for (int64_t r = 0; r < L; ++r)
    for (int64_t c = 0; c <= r; ++c) {
      float acc = 0;
      for (int64_t n = 0; n < kN; ++n) {
        float prod = 1;
        for (int64_t k = c + 1; k <= r; ++k) prod *= std::exp(dl[k] * A[n]);
        acc += C[n * L + r] * prod * dl[c] * B[n * L + c];
      }
      M[r * L + c] = acc;
    }
}

// Variant 2: prefix sums
void prefix_matrix(const ha::nn::DirectionTrace& t, int64_t d, std::vector<float>& M) {
  const int64_t L = t.delta.size(2);
  const float* dl = t.delta.data<float>() + d * L;
  const float* A = t.A.data<float>() + d * kN;
  const float* B = t.Bm.data<float>();
  const float* C = t.Cm.data<float>();
  std::vector<double> S(L * kN);
  for (int64_t n = 0; n < kN; ++n) {
    double s = 0;
    for (int64_t i = 0; i < L; ++i) S[i * kN + n] = (s += double(dl[i]) * A[n]);
  }
  M.assign(L * L, 0.0f);
  for (int64_t i = 0; i < L; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      float acc = 0;
      for (int64_t n = 0; n < kN; ++n)
        acc += C[n * L + i] * std::exp(static_cast<float>(S[i * kN + n] - S[j * kN + n])) * dl[j] * B[n * L + j];
      M[i * L + j] = acc;
    }
}

// Every variant must compute the production result before it is timed: max|got − ref| ≤ 1e-4 · max|ref|
// (float32 with different summation orders), else the benchmark reports an error instead of a time.
bool same_as_production(benchmark::State& state, const float* got, const ha::Tensor& ref_in, const char* what) {
  const ha::Tensor ref = ref_in.contiguous();
  const float* r = ref.data<float>();
  double err = 0, scale = 0;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    err = std::max(err, double(std::abs(got[i] - r[i])));
    scale = std::max(scale, double(std::abs(r[i])));
  }
  if (err <= 1e-4 * scale) return true;
  state.SkipWithError((std::string(what) + " differs from the production result").c_str());
  return false;
}

void BM_Released(benchmark::State& state) {
  const int64_t L = state.range(0);
  ha::nn::MixerTrace m = make_trace(1, L);
  std::vector<float> M;
  released_matrix(m.fwd, 0, M);
  if (!same_as_production(state, M.data(), ha::xai::attention_matrices(m, ha::xai::Direction::Fwd, 0, 0, 1),
                          "released triple loop"))
    return;
  for (auto _ : state) {
    released_matrix(m.fwd, 0, M);
    benchmark::DoNotOptimize(M.data());
  }
  state.counters["channels/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_PrefixSums(benchmark::State& state) {
  const int64_t L = state.range(0);
  ha::nn::MixerTrace m = make_trace(1, L);
  std::vector<float> M;
  prefix_matrix(m.fwd, 0, M);
  if (!same_as_production(state, M.data(), ha::xai::attention_matrices(m, ha::xai::Direction::Fwd, 0, 0, 1),
                          "prefix sums"))
    return;
  for (auto _ : state) {
    prefix_matrix(m.fwd, 0, M);
    benchmark::DoNotOptimize(M.data());
  }
  state.counters["channels/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_RunningProductMatrix(benchmark::State& state) {
  const int64_t L = state.range(0), E = 8;
  ha::nn::MixerTrace m = make_trace(E, L);
  for (auto _ : state) benchmark::DoNotOptimize(ha::xai::attention_matrices(m, ha::xai::Direction::Fwd, 0, 0, E).raw_data());
  state.counters["channels/s"] = benchmark::Counter(E, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_RunningProductRow(benchmark::State& state) {
  const int64_t L = state.range(0), E = 384;
  ha::nn::MixerTrace m = make_trace(E, L);
  for (auto _ : state)
    benchmark::DoNotOptimize(ha::xai::direction_rows(m.fwd, 0, L / 2, ha::xai::RowKind::Exact).raw_data());
  state.counters["channels/s"] = benchmark::Counter(E, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_OneHotBackwardScanRow(benchmark::State& state) {
  const int64_t L = state.range(0), E = 384;
  ha::nn::MixerTrace m = make_trace(E, L);
  ha::Tensor u = ha::Tensor::zeros({1, E, L}).requires_grad_();
  ha::Tensor onehot = ha::Tensor::zeros({1, E, L});
  ha::raw::narrow(onehot, 2, L / 2, 1).fill_(1);
  {
    ha::Tensor y = ha::selective_scan({u, m.fwd.delta, m.fwd.A, m.fwd.Bm, m.fwd.Cm, ha::Tensor(), ha::Tensor(),
                                       ha::Tensor(), false, false});
    y.backward(onehot);
    const ha::Tensor row = ha::xai::direction_rows(m.fwd, 0, L / 2, ha::xai::RowKind::Exact);
    if (!same_as_production(state, u.grad().contiguous().data<float>(), row, "one-hot backward scan")) return;
    u.zero_grad();
  }
  for (auto _ : state) {
    ha::Tensor y = ha::selective_scan({u, m.fwd.delta, m.fwd.A, m.fwd.Bm, m.fwd.Cm, ha::Tensor(), ha::Tensor(),
                                       ha::Tensor(), false, false});
    y.backward(onehot);  // du[j] = α[q, j]
    benchmark::DoNotOptimize(u.grad().raw_data());
    u.zero_grad();
  }
  state.counters["channels/s"] = benchmark::Counter(E, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(BM_Released)->Name("attn_matrix/1_released_triple_loop")->Arg(197)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PrefixSums)->Name("attn_matrix/2_prefix_sums")->Arg(197)->Arg(730)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_RunningProductMatrix)->Name("attn_matrix/3_running_product")->Arg(197)->Arg(730)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_RunningProductRow)->Name("attn_row/3_running_product")->Arg(197)->Arg(730)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_OneHotBackwardScanRow)->Name("attn_row/4_onehot_backward_scan")->Arg(197)->Arg(730)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
