// End to end on Vim-tiny (D 192, depth 24, 224x224, 197 tokens), random weights, in-process:
//   1 Forward: batch 1 logits, no tape (what `hattn classify` computes)
//   2 ExplainAttr: forward with traces + backward + the official Mamba-Attribution map (`hattn explain
//     --method attr`)
//   3 LayerAttention: the full hidden attention of one layer: every channel, both directions, L x L each
//   4 TrainStep: forward + backward + AdamW at batch 2 and 8
// Loading and decoding are not in here; scripts/bench_vs_pytorch.sh times the whole process too.
#include <benchmark/benchmark.h>

#include "models/init.h"
#include "nn/adamw.h"
#include "ops/ops.h"
#include "tensor/random.h"
#include "xai/explain.h"
#include "xai/hidden_attention.h"
#include "xai/registry.h"

namespace {

const ha::VisionMamba& tiny() {
  static ha::VisionMamba* model = [] {
    auto* m = new ha::VisionMamba(ha::VimConfig::tiny());
    ha::initialize_parameters(*m, 0);
    return m;
  }();
  return *model;
}

ha::Tensor image(int64_t batch) {
  ha::Generator g(7);
  return ha::randn({batch, 3, 224, 224}, ha::DType::F32, g);
}

void BM_Forward(benchmark::State& state) {
  const ha::VisionMamba& model = tiny();  // built before timing starts
  const ha::Tensor x = image(1);
  for (auto _ : state) {
    ha::NoGradGuard no_grad;
    benchmark::DoNotOptimize(model.forward(x).logits.data<float>());
  }
}
BENCHMARK(BM_Forward)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ExplainAttr(benchmark::State& state) {
  // the static model, not owned by the adapter
  const auto model = ha::xai::vision_mamba_explainable(std::shared_ptr<const ha::VisionMamba>(&tiny(), [](const ha::VisionMamba*) {}));
  const ha::Tensor x = image(1);
  for (auto _ : state) {
    const ha::xai::Trace ctx = std::move(model->trace(x)[0]);
    benchmark::DoNotOptimize(ha::xai::explain(ctx, model->info(), ha::xai::Method::Attr).data<float>());
  }
}
BENCHMARK(BM_ExplainAttr)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_LayerAttention(benchmark::State& state) {
  ha::VimOutput out;
  {
    ha::NoGradGuard no_grad;
    ha::VimForwardOptions o;
    o.trace = true;
    out = tiny().forward(image(1), o);
  }
  const ha::nn::MixerTrace& layer = out.traces[12];
  const int64_t E = layer.fwd.A.size(0);
  for (auto _ : state)
    benchmark::DoNotOptimize(ha::xai::attention_matrices(layer, ha::xai::Direction::Sum, 0, 0, E).data<float>());
}
BENCHMARK(BM_LayerAttention)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_TrainStep(benchmark::State& state) {
  const int64_t batch = state.range(0);
  ha::VisionMamba model(ha::VimConfig::tiny());
  ha::initialize_parameters(model, 0);
  ha::nn::AdamW opt(model);
  const ha::Tensor x = image(batch);
  std::vector<int64_t> labels(batch);
  for (int64_t i = 0; i < batch; ++i) labels[i] = i * 37 % 1000;
  const ha::Tensor y = ha::Tensor::from_vector(labels, {batch});
  for (auto _ : state) {
    opt.zero_grad();
    ha::cross_entropy(model.forward(x).logits, y, 0.1).backward();
    opt.step(1e-4);
  }
  state.SetItemsProcessed(state.iterations() * batch);  // items/s = images/s (a standard column: CSV-friendly)
}
BENCHMARK(BM_TrainStep)->Arg(2)->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
