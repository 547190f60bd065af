// CUDA: host <-> device round trips and device-side gradient accumulation, checked against the CPU.
// On a machine without a GPU (or a CPU-only build) every test here is skipped, loudly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <fstream>
#include <numeric>
#include <tuple>
#include <iostream>

#include "ops/cuda/gemm_cuda.h"
#include "tensor/cuda/cuda_memory.h"
#include "models/init.h"
#include "models/load.h"
#include "models/lm_generate.h"
#include "models/load_lm.h"
#include "models/load_vit.h"
#include "models/gpt_neox_generate.h"
#include "models/load_bert.h"
#include "models/load_gpt_neox.h"
#include "models/preprocess.h"
#include "models/recall_task.h"
#include "nn/adamw.h"
#include "nn/module.h"
#include "ops/ops.h"
#include "xai/explain.h"
#include "xai/hidden_attention.h"
#include "xai/registry.h"
#include "tensor/npy.h"
#include "tensor/random.h"
#include "tests/rollout_bound.h"
#include "xai/head_attention.h"
#include "tests/op_samples.h"
#include "tests/test_util.h"

namespace ha {
namespace {

class Cuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda::available()) {
#ifdef HATTN_WITH_CUDA
      const char* why = "built with CUDA, but no CUDA device is present";
#else
      const char* why = "CPU-only build (no nvcc at configure time)";
#endif
      std::cout << "*** SKIPPING CUDA TEST: " << why << " ***\n";
      GTEST_SKIP() << why;
    }
  }
};

TEST_F(Cuda, RoundTripPreservesValues) {
  Generator g(1);
  for (DType dt : {DType::F32, DType::F64, DType::I64}) {
    Tensor h = dt == DType::I64 ? randint({3, 197, 5}, -100, 100, g) : randn({3, 197, 5}, dt, g);
    Tensor d = h.to(Device::cuda());
    EXPECT_TRUE(d.device().is_cuda());
    Tensor back = d.to(Device::cpu());
    EXPECT_EQ(back.to_vector<double>(), h.to_vector<double>());
    // a strided host view goes up contiguous
    Tensor t = h.transpose(0, 2).to(Device::cuda()).to(Device::cpu());
    EXPECT_EQ(t.to_vector<double>(), h.transpose(0, 2).to_vector<double>());
  }
}

// The caching allocator: a freed block is cached, the next allocation of its size class reuses it, and
// empty_cache returns it.
TEST_F(Cuda, CachingAllocatorReusesBlocks) {
  cuda::empty_cache(0);
  void* first;
  {
    Tensor t = Tensor::zeros({1000, 97}, DType::F32, Device::cuda());
    first = t.raw_data();
    EXPECT_GE(cuda::memory_stats(0).live_bytes, size_t(1000 * 97 * 4));
  }
  EXPECT_GE(cuda::memory_stats(0).cached_bytes, size_t(1000 * 97 * 4));
  Tensor again = Tensor::full({1000, 97}, 2.5, DType::F32, Device::cuda());
  EXPECT_EQ(again.raw_data(), first);
  EXPECT_EQ(again.to(Device::cpu()).to_vector<float>(), std::vector<float>(1000 * 97, 2.5f));
  cuda::empty_cache(0);
  EXPECT_EQ(cuda::memory_stats(0).cached_bytes, size_t(0));
}

TEST_F(Cuda, GradientAccumulationOnDevice) {
  Generator g(2);
  Tensor a = randn({1001}, DType::F32, g), b = randn({1001}, DType::F32, g);
  Tensor da = a.to(Device::cuda()), db = b.to(Device::cuda());
  raw::add_(da, db);
  raw::add_(a, b);
  EXPECT_EQ(da.to(Device::cpu()).to_vector<float>(), a.to_vector<float>());
}

// The index ops along any dim, with the index on the device or the host, a strided input, repeated indices and
// an index smaller than the data in the other dims: the same numbers as the CPU, bit for bit (scatter_add adds in
// index order on both), and an index out of range named before any kernel runs.
TEST_F(Cuda, IndexOpsMatchCpuBitForBit) {
  for (DType dt : {DType::F32, DType::F64}) {
    Generator g(5);
    const Tensor x = randn({4, 6, 5}, dt, g);
    const Tensor xd = x.to(Device::cuda());
    Tensor index = Tensor::empty({3, 6, 2}, DType::I64);  // along dim 0 of a transposed x: values in [0, 5)
    for (int64_t i = 0; i < index.numel(); ++i) index.data<int64_t>()[i] = int64_t(g.next_u64() % 5);
    const Tensor xt = x.transpose(0, 2), xtd = xd.transpose(0, 2);  // (5, 6, 4), strided
    for (const Tensor& on : {index, index.to(Device::cuda())}) {
      EXPECT_EQ(gather(xtd, 0, on).to(Device::cpu()).to_vector<double>(), gather(xt, 0, index).to_vector<double>());
      const Tensor src = randn({3, 6, 2}, dt, g);
      EXPECT_EQ(scatter_add({5, 7, 3}, 0, on, src.to(Device::cuda())).to(Device::cpu()).to_vector<double>(),
                scatter_add({5, 7, 3}, 0, index, src).to_vector<double>());
    }
    // the middle and the last dim, forward and backward, with a device index (values in [0, 4): every dim's size)
    for (int64_t dim : {1, 2}) {
      Tensor ix = Tensor::empty({3, 4, 4}, DType::I64);
      for (int64_t i = 0; i < ix.numel(); ++i) ix.data<int64_t>()[i] = int64_t(g.next_u64() % 4);
      Tensor a = x.clone().requires_grad_(true), ad = xd.clone().requires_grad_(true);
      const Tensor y = gather(a, dim, ix), yd = gather(ad, dim, ix.to(Device::cuda()));
      EXPECT_EQ(yd.to(Device::cpu()).to_vector<double>(), y.to_vector<double>()) << dim;
      const Tensor w = randn({3, 4, 4}, dt, g);
      sum(mul(y, w)).backward();
      sum(mul(yd, w.to(Device::cuda()))).backward();
      EXPECT_EQ(ad.grad().to(Device::cpu()).to_vector<double>(), a.grad().to_vector<double>()) << dim;
    }
    for (int64_t dim : {0, 1, 2}) {  // a row read twice, the last row, the first
      const int64_t last = x.size(dim) - 1;
      const Tensor p = Tensor::from_vector<int64_t>({last, 0, last, 1}, {4});
      EXPECT_EQ(index_select(xd, dim, p.to(Device::cuda())).to(Device::cpu()).to_vector<double>(),
                index_select(x, dim, p).to_vector<double>()) << dim;
    }
  }
  const Tensor d = Tensor::zeros({4, 3}, DType::F32, Device::cuda());
  try {
    (void)gather(d, 1, Tensor::from_vector<int64_t>({3}, {1, 1}).to(Device::cuda()));
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gather: index 3 out of range [0, 3)"), std::string::npos) << e.what();
  }
}

// Dtype conversion on the device, from strided views, every pair of dtypes; to_vector of a device tensor.
TEST_F(Cuda, DtypeConversionMatchesCpu) {
  Generator g(3);
  const Tensor h = mul(abs(randn({5, 7, 3}, DType::F64, g)), 40.0);  // in range of every dtype
  const DType all[] = {DType::F32, DType::F64, DType::I64, DType::I32, DType::U8};
  for (DType from : all) {
    const Tensor src = raw::to_dtype(h, from);
    const Tensor dev = src.to(Device::cuda()).transpose(0, 2);
    for (DType to : all) {
      const Tensor cpu = raw::to_dtype(src.transpose(0, 2), to);
      const Tensor gpu = raw::to_dtype(dev, to);
      EXPECT_TRUE(gpu.device().is_cuda());
      EXPECT_EQ(gpu.to(Device::cpu()).to_vector<double>(), cpu.to_vector<double>())
          << dtype_name(from) << " -> " << dtype_name(to);
    }
    EXPECT_EQ(dev.to_vector<double>(), src.transpose(0, 2).to_vector<double>()) << dtype_name(from);
  }
}

// f(inputs) and the gradient of sum(f · R) with respect to every input, on `device`, returned on the CPU.
std::vector<Tensor> forward_backward(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                     const std::vector<Tensor>& host_inputs, Device device) {
  std::vector<Tensor> in;
  for (const Tensor& t : host_inputs) in.push_back(raw::to_device(t, device).detach().requires_grad_());
  Tensor y = f(in);
  Generator g(99);
  Tensor R = randn(y.shape(), y.dtype(), g);
  y.backward(raw::to_device(R, device));
  std::vector<Tensor> out{raw::to_device(y.detach(), Device::cpu())};
  for (const Tensor& t : in) out.push_back(raw::to_device(t.grad(), Device::cpu()));
  return out;
}

// kind "elementwise": element-wise tolerances; "gemm": relative to each tensor's max (summation order differs)
void expect_same_on_cuda(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& in,
                         const std::string& what, const std::string& kind = "elementwise") {
  const std::vector<Tensor> cpu = forward_backward(f, in, Device::cpu()), gpu = forward_backward(f, in, Device::cuda());
  const std::string tol = "cuda." + kind + (in[0].dtype() == DType::F64 ? ".f64" : ".f32");
  for (size_t i = 0; i < cpu.size(); ++i) {
    const std::string name = str(what, i == 0 ? " forward" : str(" d input ", i - 1));
    if (kind == "gemm")
      test::expect_close_scaled(gpu[i], cpu[i], tol, name);
    else
      test::expect_close(gpu[i], cpu[i], tol, name);
  }
}

// Every op sample (tests/op_samples.cpp) with a CUDA kernel, forward and every input's gradient, in float32 and,
// where the kernels take it, float64, against the CPU.
TEST_F(Cuda, EveryOpSampleMatchesCpu) {
  int compared = 0;
  for (const test::OpSample& k : test::op_samples()) {
    if (k.cuda.empty()) continue;
    for (DType dt : {DType::F32, DType::F64}) {
      if (dt == DType::F64 && !k.cuda_f64) continue;
      Generator g(42);
      std::vector<Tensor> in;
      for (const Tensor& t : k.make(g)) in.push_back(t.to(dt));
      const std::string what = str(k.name, " ", dtype_name(dt));
      try {
        if (k.cuda == "scan") {
          const std::vector<Tensor> cpu = forward_backward(k.f, in, Device::cpu()),
                                    gpu = forward_backward(k.f, in, Device::cuda());
          for (size_t i = 0; i < cpu.size(); ++i)
            test::expect_close_scaled(gpu[i], cpu[i], "cuda.scan",
                                      str(what, i == 0 ? " forward" : str(" d input ", i - 1)));
        } else {
          expect_same_on_cuda(k.f, in, what, k.cuda);
        }
        ++compared;
      } catch (const std::exception& e) {
        ADD_FAILURE() << what << ": " << e.what();
      }
    }
  }
  EXPECT_GT(compared, 100);
}

// Every unary op, forward and backward, float32 and float64, on an odd shape (5, 197) with values that
// reach each op's special branches (softplus above 20, relu and abs at 0, clamp's edges).
TEST_F(Cuda, UnaryOpsMatchCpu) {
  for (DType dt : {DType::F32, DType::F64}) {
    Generator g(11);
    Tensor x = mul(randn({5, 197}, dt, g), 3.0);
    x = concat({x, Tensor::full({1, 197}, 25.0, dt), Tensor::zeros({1, 197}, dt)}, 0);
    Tensor pos = add(abs(x), 0.1);
    using F = std::function<Tensor(const std::vector<Tensor>&)>;
    const std::vector<std::pair<std::string, F>> ops = {
        {"neg", [](auto& v) { return neg(v[0]); }},           {"exp", [](auto& v) { return exp(mul(v[0], 0.1)); }},
        {"sigmoid", [](auto& v) { return sigmoid(v[0]); }},   {"silu", [](auto& v) { return silu(v[0]); }},
        {"softplus", [](auto& v) { return softplus(v[0]); }}, {"relu", [](auto& v) { return relu(v[0]); }},
        {"tanh", [](auto& v) { return tanh(v[0]); }},         {"gelu", [](auto& v) { return gelu(v[0]); }},
        {"abs", [](auto& v) { return abs(v[0]); }},           {"clamp", [](auto& v) { return clamp(v[0], -0.5, 0.5); }},
    };
    for (const auto& [name, f] : ops) expect_same_on_cuda(f, {x}, str(name, " ", dtype_name(dt)));
    const std::vector<std::pair<std::string, F>> positive = {
        {"log", [](auto& v) { return log(v[0]); }},   {"sqrt", [](auto& v) { return sqrt(v[0]); }},
        {"rsqrt", [](auto& v) { return rsqrt(v[0]); }}, {"pow", [](auto& v) { return pow(v[0], 2.5); }},
    };
    for (const auto& [name, f] : positive) expect_same_on_cuda(f, {pos}, str(name, " ", dtype_name(dt)));
  }
}

// Binary ops with broadcasting in both directions (the backward sums over the broadcast dims on the device),
// scalar operands, strided (transposed, flipped) inputs, and sums over dims.
TEST_F(Cuda, BinaryOpsAndSumsMatchCpu) {
  for (DType dt : {DType::F32, DType::F64}) {
    Generator g(12);
    Tensor a = randn({3, 1, 197}, dt, g), b = randn({7, 1}, dt, g), c = add(abs(randn({3, 7, 197}, dt, g)), 0.5);
    using F = std::function<Tensor(const std::vector<Tensor>&)>;
    const std::vector<std::pair<std::string, F>> ops = {
        {"add", [](auto& v) { return add(v[0], v[1]); }},
        {"sub", [](auto& v) { return sub(v[0], v[1]); }},
        {"mul", [](auto& v) { return mul(v[0], v[1]); }},
        {"maximum", [](auto& v) { return maximum(v[0], v[1]); }},
        {"minimum", [](auto& v) { return minimum(v[0], v[1]); }},
        {"scalar mul, add", [](auto& v) { return add(mul(v[0], 0.5), v[1]); }},
    };
    for (const auto& [name, f] : ops) expect_same_on_cuda(f, {a, b}, str(name, " ", dtype_name(dt)));
    expect_same_on_cuda([](auto& v) { return div(v[0], v[1]); }, {a, c}, str("div ", dtype_name(dt)));
    expect_same_on_cuda([](auto& v) { return mul(v[0].transpose(0, 2), v[1].flip(1).transpose(0, 2)); }, {c, c},
                        str("strided mul ", dtype_name(dt)));
    expect_same_on_cuda([](auto& v) { return sum(v[0], {0, 2}); }, {c}, str("sum (0, 2) ", dtype_name(dt)));
    expect_same_on_cuda([](auto& v) { return sum(v[0], {1}, true); }, {c}, str("sum keepdim ", dtype_name(dt)));
    expect_same_on_cuda([](auto& v) { return sum(v[0], {}); }, {c}, str("sum all ", dtype_name(dt)));
    // few outputs over many elements (in slices), strided and not; positive, so each sum is as well conditioned
    // as its terms and the CPU's order (which follows its vector width) moves it by a few ulp at most
    const Tensor big = add(abs(randn({5, 30011}, dt, g)), 0.5);
    expect_same_on_cuda([](auto& v) { return sum(v[0], {1}); }, {big}, str("sum of long rows ", dtype_name(dt)));
    expect_same_on_cuda([](auto& v) { return sum(v[0].transpose(0, 1), {0}); }, {big},
                        str("sum of long strided columns ", dtype_name(dt)));
    expect_same_on_cuda([](auto& v) { return sum(v[0], {}); }, {big}, str("sum of 150,055 ", dtype_name(dt)));
    // an empty reduced range: zeros
    EXPECT_EQ(sum(Tensor::zeros({3, 0}, dt, Device::cuda()), {1}).to(Device::cpu()).to_vector<double>(),
              std::vector<double>(3, 0.0));
    // a strided device view made contiguous on the device
    Tensor d = c.to(Device::cuda());
    EXPECT_EQ(d.transpose(0, 2).flip(1).contiguous().to(Device::cpu()).to_vector<double>(),
              c.transpose(0, 2).flip(1).contiguous().to_vector<double>());
  }
}

#ifdef HATTN_WITH_CUDA
// Which row-major operands cuBLAS takes without a copy (host logic; runs without a GPU).
TEST(CudaGemm, OperandLayouts) {
  EXPECT_TRUE(cuda::gemm_operand_ok(197, 192, 192, 1));    // contiguous
  EXPECT_TRUE(cuda::gemm_operand_ok(197, 192, 1, 197));    // a transpose
  EXPECT_TRUE(cuda::gemm_operand_ok(197, 192, 768, 1));    // a narrowed row-major view (ld 768)
  EXPECT_TRUE(cuda::gemm_operand_ok(1, 192, 5, 1));        // one row: its row stride is never read
  EXPECT_TRUE(cuda::gemm_operand_ok(197, 1, 3, 7));        // one column
  EXPECT_FALSE(cuda::gemm_operand_ok(197, 192, 0, 1));     // broadcast rows
  EXPECT_FALSE(cuda::gemm_operand_ok(197, 192, 100, 1));   // overlapping rows
  EXPECT_FALSE(cuda::gemm_operand_ok(197, 192, 384, 2));   // no unit stride
}
#endif

// matmul and linear through cuBLAS: awkward sizes, broadcast batches, transposed and non-mergeable operands.
TEST_F(Cuda, MatmulMatchesCpu) {
  for (DType dt : {DType::F32, DType::F64}) {
    Generator g(13);
    const std::string d = dtype_name(dt);
    expect_same_on_cuda([](auto& v) { return matmul(v[0], v[1]); }, {randn({197, 65}, dt, g), randn({65, 33}, dt, g)},
                        "matmul 197x65x33 " + d, "gemm");
    expect_same_on_cuda([](auto& v) { return matmul(v[0], v[1]); },
                        {randn({2, 1, 5, 7}, dt, g), randn({3, 7, 4}, dt, g)}, "batched broadcast " + d, "gemm");
    expect_same_on_cuda([](auto& v) { return matmul(v[0].transpose(0, 1), v[1].transpose(0, 1)); },
                        {randn({65, 197}, dt, g), randn({33, 65}, dt, g)}, "transposed operands " + d, "gemm");
    expect_same_on_cuda([](auto& v) { return linear(v[0].transpose(1, 2), v[1], v[2]); },
                        {randn({3, 7, 5}, dt, g), randn({4, 7}, dt, g), randn({4}, dt, g)},
                        "linear of a transposed batch " + d, "gemm");
  }
}

// RMSNorm (a width that is not a multiple of the block) and the causal conv1d (odd channels, L = 197 and
// 730, batch 1 and 5, with and without bias), forward and every gradient.
TEST_F(Cuda, NormAndConvMatchCpu) {
  for (DType dt : {DType::F32, DType::F64}) {
    Generator g(14);
    const std::string d = dtype_name(dt);
    expect_same_on_cuda([](auto& v) { return rms_norm(v[0], v[1], 1e-5); },
                        {randn({5, 197, 301}, dt, g), randn({301}, dt, g)}, "rms_norm " + d, "gemm");
    expect_same_on_cuda([](auto& v) { return layer_norm(v[0], v[1], v[2], 1e-5); },
                        {randn({5, 197, 301}, dt, g), randn({301}, dt, g), randn({301}, dt, g)}, "layer_norm " + d,
                        "gemm");
    for (auto [B, E, L] : {std::tuple{1, 37, 197}, std::tuple{5, 24, 730}}) {
      Tensor x = randn({B, E, L}, dt, g), w = randn({E, 4}, dt, g), b = randn({E}, dt, g);
      expect_same_on_cuda([](auto& v) { return causal_conv1d(v[0], v[1], v[2]); }, {x, w, b},
                          str("causal_conv1d B", B, " E", E, " L", L, " ", d), "gemm");
      expect_same_on_cuda([](auto& v) { return causal_conv1d(v[0].flip(2), v[1], Tensor()); }, {x, w},
                          str("causal_conv1d flipped, no bias ", d), "gemm");
    }
  }
}

// conv2d through im2col + cuBLAS + the gathering col2im: Vim's patch embedding (stride 16 and the
// overlapping stride 8), and a padded odd case; concat on the device (the cls token's insertion).
TEST_F(Cuda, Conv2dAndConcatMatchCpu) {
  for (DType dt : {DType::F32, DType::F64}) {
    Generator g(15);
    const std::string d = dtype_name(dt);
    Tensor img = randn({2, 3, 64, 64}, dt, g), w = randn({24, 3, 16, 16}, dt, g), b = randn({24}, dt, g);
    for (int64_t stride : {16, 8})
      expect_same_on_cuda([stride](auto& v) { return conv2d(v[0], v[1], v[2], {stride, stride}, {0, 0}); },
                          {img, w, b}, str("patch embedding stride ", stride, " ", d), "gemm");
    expect_same_on_cuda([](auto& v) { return conv2d(v[0], v[1], Tensor(), {2, 1}, {1, 2}); },
                        {randn({3, 5, 17, 13}, dt, g), randn({7, 5, 3, 4}, dt, g)}, "padded odd conv2d " + d, "gemm");
    expect_same_on_cuda([](auto& v) { return concat({v[0], v[1], v[0].flip(1)}, 1); },
                        {randn({2, 98, 16}, dt, g), randn({2, 1, 16}, dt, g)}, "concat " + d);
  }
}

// The whole model on the device: logits, the input gradient, every block gradient and every explanation map
// against the CPU (the small reference model, 17 tokens, and the 197-token one).
TEST_F(Cuda, WholeModelAndExplanationsMatchCpu) {
  const std::string data = std::string(HATTN_TEST_DATA) + "/";
  for (const char* file : {"vim_ref/vim_ref.pth", "vim_197/model.pth"}) {
    std::shared_ptr<VisionMamba> cpu_model = load_vim(data + file), gpu_model = load_vim(data + file);
    nn::move_parameters(*gpu_model, Device::cuda());
    const auto on_cpu = xai::vision_mamba_explainable(cpu_model), on_gpu = xai::vision_mamba_explainable(gpu_model);
    const xai::FamilyInfo& f = on_cpu->info();
    const int64_t size = cpu_model->config().img_size;
    Generator g(16);
    const Tensor image = randn({1, 3, size, size}, DType::F32, g);
    const xai::Trace a = std::move(on_cpu->trace(image)[0]), b = std::move(on_gpu->trace(image)[0]);
    EXPECT_EQ(a.target, b.target) << file;
    test::expect_close_scaled(b.logits, a.logits, "cuda.model", str(file, " logits"));
    test::expect_close_scaled(b.input_grad, a.input_grad, "cuda.model", str(file, " input gradient"));
    for (size_t l = 0; l < a.block_grads.size(); ++l)
      test::expect_close_scaled(b.block_grads[l], a.block_grads[l], "cuda.model", str(file, " block gradient ", l));
    for (const xai::MethodSpec& spec : f.methods)
      for (xai::Variant v : {xai::Variant::Official, xai::Variant::Exact}) {
        const xai::Method m = spec.method;
        xai::ExplainOptions o;
        if (!spec.variants.empty()) o.variant = v;
        const std::string what = str(file, " map ", xai::method_name(m), " ", xai::variant_name(v));
        if (m == xai::Method::Rollout && v == xai::Variant::Exact)  // ill-conditioned: bounded by its conditioning
          test::expect_rollout_within_bound(xai::explain(b, f, m, o), xai::explain(a, f, m, o), a, f,
                                            test::tolerance("cuda.rollout_input"), what, &b);
        else
          test::expect_close_scaled(xai::explain(b, f, m, o), xai::explain(a, f, m, o), "cuda.model", what);
      }
  }
}

// A ViT on the device: logits, attention, gradients and every ViT map (attr's relevance pass reads the device
// trace) against the CPU.
TEST_F(Cuda, VitAndItsExplanationsMatchCpu) {
  const Checkpoint ckpt = Checkpoint::open(std::string(HATTN_TEST_DATA) + "/vit_ref/vit.pth");
  std::shared_ptr<VisionTransformer> cpu_model = load_vit(ckpt, 3), gpu_model = load_vit(ckpt, 3);
  nn::move_parameters(*gpu_model, Device::cuda());
  const auto on_cpu = xai::vision_transformer_explainable(cpu_model), on_gpu = xai::vision_transformer_explainable(gpu_model);
  const xai::FamilyInfo& f = on_cpu->info();
  Generator g(18);
  const Tensor image = randn({1, 3, 32, 32}, DType::F32, g);
  const xai::Trace a = std::move(on_cpu->trace(image)[0]), b = std::move(on_gpu->trace(image)[0]);
  EXPECT_EQ(a.target, b.target);
  test::expect_close_scaled(b.logits, a.logits, "cuda.model", "vit logits");
  test::expect_close_scaled(b.input_grad, a.input_grad, "cuda.model", "vit input gradient");
  for (size_t l = 0; l < a.mixers.size(); ++l) {
    const int64_t H = a.mixers[l]->channels();
    test::expect_close_scaled(b.mixers[l]->matrices(0, H), a.mixers[l]->matrices(0, H), "cuda.model", str("vit attention ", l));
    test::expect_close_scaled(b.mixers[l]->matrix_grad(), a.mixers[l]->matrix_grad(), "cuda.model",
                              str("vit attention gradient ", l));
  }
  for (const xai::MethodSpec& spec : f.methods)
    test::expect_close_scaled(xai::explain(b, f, spec.method), xai::explain(a, f, spec.method), "cuda.model",
                              str("vit map ", xai::method_name(spec.method)));
}

// The hidden-attention kernels on traces moved to the device: cls rows of every kind and the full matrices
// (both directions and their sum) at 197 and 730 tokens.
TEST_F(Cuda, HiddenAttentionMatchesCpu) {
  const std::string data = std::string(HATTN_TEST_DATA) + "/";
  for (const char* file : {"vim_197/model.pth", "vim_730/model.pth"}) {
    auto model = load_vim(data + file);
    Generator g(17);
    const int64_t size = model->config().img_size;
    VimOutput out;
    {
      NoGradGuard ng;
      VimForwardOptions o;
      o.trace = true;
      out = model->forward(randn({1, 3, size, size}, DType::F32, g), o);
    }
    const nn::MixerTrace& host = out.traces[1];
    nn::MixerTrace dev = host;
    for (nn::DirectionTrace* d : {&dev.fwd, &dev.bwd})
      for (Tensor* t : {&d->delta, &d->Bm, &d->Cm, &d->A, &d->D, &d->z, &d->pre, &d->conv_weight})
        *t = t->to(Device::cuda());
    const int64_t cls = model->config().cls_index(), E = host.fwd.delta.size(1);
    for (auto kind : {xai::RowKind::Exact, xai::RowKind::Official, xai::RowKind::Unified})
      test::expect_close_scaled(xai::cls_rows(dev, 0, cls, kind), xai::cls_rows(host, 0, cls, kind), "cuda.gemm.f32",
                                str(file, " cls rows kind ", int(kind)));
    for (auto d : {xai::Direction::Fwd, xai::Direction::Bwd, xai::Direction::Sum})
      test::expect_close_scaled(xai::attention_matrices(dev, d, 0, 1, std::min<int64_t>(E, 9)),
                                xai::attention_matrices(host, d, 0, 1, std::min<int64_t>(E, 9)), "cuda.gemm.f32",
                                str(file, " matrices ", xai::direction_name(d)));
  }
}

// softmax / log_softmax along either dim, label-smoothed cross-entropy (forward and the logits' gradient), and
// max / min / argmax with ties (first index wins) and a NaN (wins).
TEST_F(Cuda, SoftmaxCrossEntropyAndArgmaxMatchCpu) {
  for (DType dt : {DType::F32, DType::F64}) {
    Generator g(18);
    const std::string d = dtype_name(dt);
    Tensor x = mul(randn({5, 1000}, dt, g), 4.0);
    for (int64_t dim : {1, 0}) {
      expect_same_on_cuda([dim](auto& v) { return softmax(v[0], dim); }, {x}, str("softmax dim ", dim, " ", d));
      expect_same_on_cuda([dim](auto& v) { return log_softmax(v[0], dim); }, {x}, str("log_softmax dim ", dim, " ", d));
    }
    const Tensor target = Tensor::from_vector<int64_t>({3, 999, 0, 512, 3}, {5});
    expect_same_on_cuda([&](auto& v) { return cross_entropy(v[0], target.to(v[0].device()), 0.1); }, {x},
                        "cross_entropy " + d);
    Tensor t = Tensor::from_vector<double>({1, 7, 7, 2, -3, -3, 0, 5, std::nan(""), 5, 1, 2}, {3, 4}).to(dt);
    for (bool want_max : {true, false}) {
      ValuesIndices c = want_max ? max(t, 1) : min(t, 1), gpu = want_max ? max(t.to(Device::cuda()), 1)
                                                                          : min(t.to(Device::cuda()), 1);
      EXPECT_EQ(gpu.indices.to(Device::cpu()).to_vector<int64_t>(), c.indices.to_vector<int64_t>()) << d;
      test::expect_bitwise_equal(gpu.values.to(Device::cpu()), c.values, str(want_max ? "max " : "min ", d));
    }
    EXPECT_EQ(argmax(x.to(Device::cuda()), 1).to(Device::cpu()).to_vector<int64_t>(),
              argmax(x, 1).to_vector<int64_t>());
  }
}

// Three training steps (forward, label-smoothed cross-entropy, backward, AdamW) of a small Vim on the GPU
// against the same on the CPU: every parameter afterwards.
TEST_F(Cuda, TrainingStepsMatchCpu) {
  VimConfig c;
  c.d_model = 32, c.depth = 2, c.patch = c.stride = 8, c.img_size = 32, c.dt_rank = 2, c.num_classes = 10;
  VisionMamba cpu_model(c), gpu_model(c);
  initialize_parameters(cpu_model, 3);
  initialize_parameters(gpu_model, 3);
  nn::move_parameters(gpu_model, Device::cuda());
  nn::AdamW cpu_opt(cpu_model), gpu_opt(gpu_model);
  Generator g(19);
  for (int step = 0; step < 3; ++step) {
    const Tensor images = randn({4, 3, 32, 32}, DType::F32, g);
    const Tensor labels = Tensor::from_vector<int64_t>({1, 7, 3, 3}, {4});
    for (auto [model, opt] : {std::pair{&cpu_model, &cpu_opt}, {&gpu_model, &gpu_opt}}) {
      opt->zero_grad();
      cross_entropy(model->forward(images).logits, labels, 0.1).backward();
      opt->step(1e-3);
    }
  }
  const auto a = cpu_model.named_parameters(), b = gpu_model.named_parameters();
  for (size_t i = 0; i < a.size(); ++i)
    test::expect_close_scaled(b[i].second.to(Device::cpu()), a[i].second, "cuda.model", "after 3 steps: " + a[i].first);
}

// What the language models' maps read of a layer, on the device against the CPU, for both families at 150 tokens
// (past the CPU's 64-row blocks and the scans' 32-token chunks): the statistics (attr), rows (raw), and the
// channel mean's row sums and wᵀX by the scans (rollout).
TEST_F(Cuda, CausalLayerMapsMatchCpu) {
  const std::string ref = std::string(HATTN_TEST_DATA) + "/lm_ref/";
  for (const char* arch : {"mamba1", "mamba2"}) {
    const auto model = xai::mamba_lm_explainable(load_lm(ref + arch + "_hf"));
    std::vector<int64_t> ids;
    for (int64_t i = 0; i < 150; ++i) ids.push_back((i * 7 + 3) % model->info().vocab);
    LmForwardOptions o;
    o.trace = true;
    NoGradGuard ng;
    const LmOutput out = load_lm(ref + arch + "_hf")->forward(Tensor::from_vector(ids, {150}), o);
    for (const LmLayerTrace& l : out.traces) {
      const bool m1 = std::string(arch) == "mamba1";
      const xai::CausalAttentionStats c = m1 ? xai::causal_attention_stats(l.mamba1.fwd, 0)
                                             : xai::head_attention_stats(l.mamba2, 0);
      const xai::CausalAttentionStats g = m1 ? xai::causal_attention_stats(l.mamba1.fwd, 0, Device::cuda())
                                             : xai::head_attention_stats(l.mamba2, 0, Device::cuda());
      test::expect_close_scaled(g.mean, c.mean, "cuda.model", str(arch, " channel mean"));
      test::expect_close_scaled(g.mean_relu, c.mean_relu, "cuda.model", str(arch, " channel mean of relu"));
      const double scale = std::max(std::abs(c.min), std::abs(c.max));
      EXPECT_NEAR(g.min, c.min, 1e-5 * scale) << arch;
      EXPECT_NEAR(g.max, c.max, 1e-5 * scale) << arch;
      // what raw and rollout read: rows at a few queries, and the channel mean's row sums and wᵀX by the scans
      for (int64_t q : {0, 1, 77, 149}) {
        const Tensor rc = m1 ? xai::direction_rows(l.mamba1.fwd, 0, q, xai::RowKind::Exact)
                             : xai::head_rows(l.mamba2, 0, q);
        const Tensor rg = m1 ? xai::direction_rows(l.mamba1.fwd, 0, q, xai::RowKind::Exact, Device::cuda())
                             : xai::head_rows(l.mamba2, 0, q, Device::cuda());
        ASSERT_TRUE(rg.device().is_cpu());
        test::expect_close_scaled(rg, rc, "cuda.model", str(arch, " rows at ", q));
      }
      std::vector<double> w(150);
      for (int64_t i = 0; i < 150; ++i) w[i] = std::cos(0.3 * double(i)) + (i == 149 ? 1.0 : 0.0);
      const Tensor wt = Tensor::from_vector(w, {150});
      const Tensor sc = m1 ? xai::causal_mean_row_sums(l.mamba1.fwd, 0) : xai::head_mean_row_sums(l.mamba2, 0);
      const Tensor sg = m1 ? xai::causal_mean_row_sums(l.mamba1.fwd, 0, Device::cuda())
                           : xai::head_mean_row_sums(l.mamba2, 0, Device::cuda());
      const Tensor vc = m1 ? xai::causal_mean_vecmat(l.mamba1.fwd, 0, wt) : xai::head_mean_vecmat(l.mamba2, 0, wt);
      const Tensor vg = m1 ? xai::causal_mean_vecmat(l.mamba1.fwd, 0, wt, Device::cuda())
                           : xai::head_mean_vecmat(l.mamba2, 0, wt, Device::cuda());
      test::expect_close_scaled(sg, sc, "cuda.model", str(arch, " mean row sums"));
      test::expect_close_scaled(vg, vc, "cuda.model", str(arch, " mean vecmat"));
      // and the recurrences against the matrix they stand for (the CPU mean of the statistics)
      test::expect_close_scaled(sg, sum(c.mean, {1}), "cuda.model", str(arch, " row sums vs the mean matrix"));
      test::expect_close_scaled(vg, matmul(wt.reshape({1, 150}), c.mean).reshape({150}), "cuda.model",
                                str(arch, " vecmat vs the mean matrix"));
    }
  }
}

// GPT-NeoX on the device: logits, the embedding gradient and every map, both residual forms.
TEST_F(Cuda, GptNeoxMatchesCpu) {
  const std::string ref = std::string(HATTN_TEST_DATA) + "/neox_ref/";
  for (const char* name : {"parallel", "sequential"}) {
    xai::LoadOptions o;
    o.device = Device::cuda();
    const auto on_cpu = xai::load(ref + name), on_gpu = xai::load(ref + name, o);
    const xai::FamilyInfo& f = on_cpu->info();
    const std::vector<int64_t> ids = load_npy(ref + name + "_ids.npy").to_vector<int64_t>();
    const Tensor input = Tensor::from_vector(ids, {1, static_cast<int64_t>(ids.size())});
    const xai::Trace a = std::move(on_cpu->trace(input, {{-1, 8}})[0]), b = std::move(on_gpu->trace(input, {{-1, 8}})[0]);
    EXPECT_EQ(a.target, b.target) << name;
    test::expect_close_scaled(b.logits, a.logits, "cuda.model", str(name, " logits"));
    test::expect_close_scaled(b.input_grad, a.input_grad, "cuda.model", str(name, " embedding gradient"));
    for (const xai::MethodSpec& spec : f.methods)
      test::expect_close_scaled(xai::explain(b, f, spec.method), xai::explain(a, f, spec.method), "cuda.model",
                                str(name, " map ", xai::method_name(spec.method)));
    // generation: the prompt, then steps against the keys and values cached on the device
    const auto cpu_model = load_gpt_neox(ref + name);
    auto gpu_model = load_gpt_neox(ref + name);
    nn::move_parameters(*gpu_model, Device::cuda());
    GptNeoxStepper cpu_step(*cpu_model), gpu_step(*gpu_model);
    std::vector<float> want = cpu_step.prefill({ids[0], ids[1], ids[2]}), got = gpu_step.prefill({ids[0], ids[1], ids[2]});
    for (int64_t t : {3, 7, 1}) {
      const std::vector<float> w = cpu_step.step(t), g = gpu_step.step(t);
      want.insert(want.end(), w.begin(), w.end());
      got.insert(got.end(), g.begin(), g.end());
    }
    const int64_t V = cpu_model->config().vocab;
    test::expect_close_scaled(Tensor::from_vector(got, {4, V}), Tensor::from_vector(want, {4, V}), "cuda.model",
                              str(name, " prefill and 3 steps"));
  }
}

// A BERT classifier on the device (the padding mask built there too): logits, gradients and every map, for every
// class, and a padded batch.
TEST_F(Cuda, BertMatchesCpu) {
  const std::string ref = std::string(HATTN_TEST_DATA) + "/bert_ref/";
  xai::LoadOptions o;
  o.device = Device::cuda();
  const auto on_cpu = xai::load(ref + "tiny"), on_gpu = xai::load(ref + "tiny", o);
  const xai::FamilyInfo& f = on_cpu->info();
  const std::vector<int64_t> ids = load_npy(ref + "ids.npy").to_vector<int64_t>();
  const Tensor input = Tensor::from_vector(ids, {1, static_cast<int64_t>(ids.size())});
  for (int64_t k = 0; k < f.num_classes; ++k) {
    const xai::Trace a = std::move(on_cpu->trace(input, {{k, -1}})[0]), b = std::move(on_gpu->trace(input, {{k, -1}})[0]);
    test::expect_close_scaled(b.logits, a.logits, "cuda.model", "logits");
    test::expect_close_scaled(b.input_grad, a.input_grad, "cuda.model", str("class ", k, " embedding gradient"));
    for (const xai::MethodSpec& spec : f.methods)
      test::expect_close_scaled(xai::explain(b, f, spec.method), xai::explain(a, f, spec.method), "cuda.model",
                                str("class ", k, " map ", xai::method_name(spec.method)));
  }
  auto gpu_model = load_bert(ref + "tiny");
  nn::move_parameters(*gpu_model, Device::cuda());
  const BertOutput batch = gpu_model->forward(load_npy(ref + "batch_ids.npy"), load_npy(ref + "batch_mask.npy"));
  test::expect_close_scaled(batch.logits.to(Device::cpu()), load_npy(ref + "batch_logits.npy"), "cuda.model",
                            "padded batch");
}

// The scans and head rows on synthetic traces the models above do not reach: groups (G = 3), state counts that
// are not a multiple of the 32 threads (5, 40; Mamba-2's 128 is the released models'), one token, 33 tokens (a
// chunk and one), float64 traces (the device computes from their float32 values).
TEST_F(Cuda, ScansWithGroupsAndOddStateCounts) {
  Generator gen(11);
  for (int64_t L : {1, 33, 70}) {
    for (int64_t N : {5, 40, 128}) {
      nn::Mamba2Trace t;
      const int64_t H = 6, G = 3;
      t.groups = G;
      t.delta = add(mul(rand({1, H, L}, DType::F64, gen), 0.5), 0.01);
      t.A = neg(add(mul(rand({H}, DType::F64, gen), 4.0), 0.1));
      t.Bm = randn({1, G * N, L}, DType::F64, gen);
      t.Cm = randn({1, G * N, L}, DType::F64, gen);
      const Tensor w = randn({L}, DType::F64, gen);
      const std::string what = str("H ", H, " G ", G, " N ", N, " L ", L);
      test::expect_close_scaled(xai::head_mean_row_sums(t, 0, Device::cuda()), xai::head_mean_row_sums(t, 0),
                                "cuda.model", what + " row sums");
      test::expect_close_scaled(xai::head_mean_vecmat(t, 0, w, Device::cuda()), xai::head_mean_vecmat(t, 0, w),
                                "cuda.model", what + " vecmat");
      test::expect_close_scaled(xai::head_rows(t, 0, L - 1, Device::cuda()), xai::head_rows(t, 0, L - 1).to(DType::F32),
                                "cuda.model", what + " last row");
      if (N > 16) continue;
      nn::DirectionTrace d;  // Mamba-1: a decay per state
      const int64_t E = 7;
      d.delta = add(mul(rand({1, E, L}, DType::F64, gen), 0.5), 0.01);
      d.A = neg(add(mul(rand({E, N}, DType::F64, gen), 4.0), 0.1));
      d.Bm = randn({1, N, L}, DType::F64, gen);
      d.Cm = randn({1, N, L}, DType::F64, gen);
      d.z = randn({1, E, L}, DType::F64, gen), d.pre = randn({1, E, L}, DType::F64, gen);
      d.conv_weight = randn({E, 4}, DType::F64, gen);
      test::expect_close_scaled(xai::direction_rows(d, 0, L / 2, xai::RowKind::Unified, Device::cuda()),
                                xai::direction_rows(d, 0, L / 2, xai::RowKind::Unified).to(DType::F32), "cuda.model",
                                what + " channels: unified row");
      test::expect_close_scaled(xai::causal_mean_row_sums(d, 0, Device::cuda()), xai::causal_mean_row_sums(d, 0),
                                "cuda.model", what + " channels: row sums");
      test::expect_close_scaled(xai::causal_mean_vecmat(d, 0, w, Device::cuda()), xai::causal_mean_vecmat(d, 0, w),
                                "cuda.model", what + " channels: vecmat");
    }
  }
}

// Both language-model families on the device: logits, the embedding gradient and every map of a mid-sequence
// query (the embedding lookup runs through the row gather), then training steps of a Mamba-2 with N = 32 (the
// scan kernel beyond Vim's 16 states, and the row gather's adjoint into the embedding).
TEST_F(Cuda, LanguageModelsMatchCpu) {
  const std::string ref = std::string(HATTN_TEST_DATA) + "/lm_ref/";
  for (const char* arch : {"mamba1", "mamba2"}) {
    std::shared_ptr<MambaLM> cpu_model = load_lm(ref + arch + "_hf"), gpu_model = load_lm(ref + arch + "_hf");
    nn::move_parameters(*gpu_model, Device::cuda());
    const auto on_cpu = xai::mamba_lm_explainable(cpu_model), on_gpu = xai::mamba_lm_explainable(gpu_model);
    const xai::FamilyInfo& f = on_cpu->info();
    const std::vector<int64_t> ids = load_npy(ref + arch + "_ids.npy").to_vector<int64_t>();
    const Tensor input = Tensor::from_vector(ids, {1, static_cast<int64_t>(ids.size())});
    const xai::Trace a = std::move(on_cpu->trace(input, {{-1, 8}})[0]), b = std::move(on_gpu->trace(input, {{-1, 8}})[0]);
    EXPECT_EQ(a.target, b.target) << arch;
    test::expect_close_scaled(b.logits, a.logits, "cuda.model", str(arch, " logits"));
    test::expect_close_scaled(b.input_grad, a.input_grad, "cuda.model", str(arch, " embedding gradient"));
    for (const xai::MethodSpec& spec : f.methods)
      test::expect_close_scaled(xai::explain(b, f, spec.method), xai::explain(a, f, spec.method), "cuda.model",
                                str(arch, " map ", xai::method_name(spec.method)));
    // generation: prefill on the device, then the recurrent step as tensor ops there, against the CPU's host loop
    LmStepper cpu_step(*cpu_model), gpu_step(*gpu_model);
    std::vector<float> want = cpu_step.prefill(ids), got = gpu_step.prefill(ids);
    for (int64_t t : {3, 7, 1, 5}) {
      const std::vector<float> w = cpu_step.step(t), g = gpu_step.step(t);
      want.insert(want.end(), w.begin(), w.end());
      got.insert(got.end(), g.begin(), g.end());
    }
    const int64_t V = cpu_model->config().vocab;
    test::expect_close_scaled(Tensor::from_vector(got, {5, V}), Tensor::from_vector(want, {5, V}), "cuda.model",
                              str(arch, " prefill and 4 steps"));
    EXPECT_EQ(generate_greedy(*gpu_model, ids, 5), generate_greedy(*cpu_model, ids, 5)) << arch;
  }
  LmConfig c;
  c.family = LmFamily::Mamba2;
  c.d_model = 16, c.n_layer = 2, c.vocab = 256, c.d_inner = 32, c.d_state = 32, c.nheads = 4, c.ngroups = 2;
  MambaLM cpu_model(c), gpu_model(c);
  initialize_parameters(cpu_model, 5);
  initialize_parameters(gpu_model, 5);
  nn::move_parameters(gpu_model, Device::cuda());
  nn::AdamW cpu_opt(cpu_model), gpu_opt(gpu_model);
  for (int step = 0; step < 3; ++step) {
    std::vector<int64_t> ids, answers;
    for (int b = 0; b < 4; ++b) {
      const RecallSample s = recall_sample(1, step * 4 + b, 5);
      ids.insert(ids.end(), s.ids.begin(), s.ids.end());
      answers.push_back(s.answer);
    }
    const Tensor batch = Tensor::from_vector(ids, {4, 12}), target = Tensor::from_vector(answers, {4});
    for (auto [model, opt] : {std::pair{&cpu_model, &cpu_opt}, {&gpu_model, &gpu_opt}}) {
      opt->zero_grad();
      const Tensor logits = model->forward(batch).logits.select(1, 11);
      cross_entropy(logits, target.to(logits.device())).backward();
      opt->step(3e-3);
    }
  }
  const auto a = cpu_model.named_parameters(), b = gpu_model.named_parameters();
  for (size_t i = 0; i < a.size(); ++i)
    test::expect_close_scaled(b[i].second.to(Device::cpu()), a[i].second, "cuda.model", "LM after 3 steps: " + a[i].first);
}

// Bilinear upsampling (PyTorch's align_corners=False): a map to image size and an odd down/up pair.
TEST_F(Cuda, UpsampleMatchesCpu) {
  for (DType dt : {DType::F32, DType::F64}) {
    Generator g(20);
    expect_same_on_cuda([](auto& v) { return upsample_bilinear(v[0], 224, 224); }, {randn({1, 1, 14, 14}, dt, g)},
                        str("upsample 14 -> 224 ", dtype_name(dt)), "gemm");
    expect_same_on_cuda([](auto& v) { return upsample_bilinear(v[0], 14, 30); }, {randn({1, 1, 2, 2}, dt, g)},
                        str("upsample 2x2 -> 14x30 ", dtype_name(dt)), "gemm");
    expect_same_on_cuda([](auto& v) { return upsample_bilinear(v[0], 50, 7); }, {randn({2, 1, 3, 5}, dt, g)},
                        str("upsample 3x5 -> 50x7 ", dtype_name(dt)), "gemm");
    expect_same_on_cuda([](auto& v) { return upsample_bilinear(v[0], 3, 2); }, {randn({1, 2, 40, 40}, dt, g)},
                        str("downsample 40x40 -> 3x2 ", dtype_name(dt)), "gemm");
    expect_same_on_cuda([](auto& v) { return upsample_bilinear(v[0], 5, 19); }, {randn({2, 3, 7, 11}, dt, g)},
                        str("upsample 7x11 -> 5x19 ", dtype_name(dt)), "gemm");
  }
}

// Forward and all eight gradients of the scan on `device`; the output gradient R is given explicitly.
std::vector<Tensor> scan_on(const ScanInputs& host, const Tensor& R, Device device) {
  ScanInputs s = host;
  std::vector<Tensor*> ts{&s.u, &s.delta, &s.A, &s.Bm, &s.Cm, &s.D, &s.z, &s.delta_bias};
  for (Tensor* t : ts)
    if (t->defined()) *t = raw::to_device(*t, device).detach().requires_grad_();
  Tensor y = selective_scan(s);
  y.backward(raw::to_device(R, device));
  std::vector<Tensor> out{raw::to_device(y.detach(), Device::cpu())};
  for (Tensor* t : ts) out.push_back(t->defined() ? raw::to_device(t->grad(), Device::cpu()) : Tensor());
  return out;
}

TEST_F(Cuda, SelectiveScanMatchesCpu) {
  const char* names[] = {"y", "du", "ddelta", "dA", "dB", "dC", "dD", "dz", "ddelta_bias"};
  struct Shape5 { int64_t B, E, L, N; bool full, reverse; };
  for (Shape5 sh : {Shape5{1, 37, 197, 16, true, false}, Shape5{5, 24, 730, 16, true, true},
                    Shape5{2, 7, 17, 5, false, false}, Shape5{3, 130, 197, 16, true, true},
                    Shape5{1, 9, 33, 128, true, false}, Shape5{2, 5, 21, 40, false, true}}) {  // Mamba-2's N
    Generator g(7);
    ScanInputs s;
    s.u = randn({sh.B, sh.E, sh.L}, DType::F32, g);
    s.delta = mul(randn({sh.B, sh.E, sh.L}, DType::F32, g), 0.5);
    s.A = mul(uniform({sh.E, sh.N}, 0.5, 2, DType::F32, g), -1.0);
    s.Bm = randn({sh.B, sh.N, sh.L}, DType::F32, g);
    s.Cm = randn({sh.B, sh.N, sh.L}, DType::F32, g);
    if (sh.full) {
      s.D = randn({sh.E}, DType::F32, g);
      s.z = randn({sh.B, sh.E, sh.L}, DType::F32, g);
      s.delta_bias = mul(randn({sh.E}, DType::F32, g), 0.3);
    } else {
      s.delta_softplus = false;
      s.delta = uniform({sh.B, sh.E, sh.L}, 0.01, 0.5, DType::F32, g);
    }
    s.reverse = sh.reverse;
    Tensor R = randn({sh.B, sh.E, sh.L}, DType::F32, g);
    std::vector<Tensor> cpu = scan_on(s, R, Device::cpu()), gpu = scan_on(s, R, Device::cuda());
    for (size_t i = 0; i < cpu.size(); ++i)
      if (cpu[i].defined())
        test::expect_close_scaled(gpu[i], cpu[i], "cuda.scan", str("B", sh.B, " E", sh.E, " L", sh.L, " N", sh.N,
                                                                 sh.reverse ? " reverse " : " ", names[i]));
    std::vector<Tensor> again = scan_on(s, R, Device::cuda());
    for (size_t i = 0; i < gpu.size(); ++i)
      if (gpu[i].defined()) test::expect_bitwise_equal(again[i], gpu[i], str("CUDA rerun ", names[i]));
  }
  // no channels: B and C still have entries, whose gradients are zero
  Generator g(8);
  ScanInputs s;
  s.u = randn({2, 0, 9}, DType::F32, g);
  s.delta = randn({2, 0, 9}, DType::F32, g);
  s.A = randn({0, 4}, DType::F32, g);
  s.Bm = randn({2, 4, 9}, DType::F32, g);
  s.Cm = randn({2, 4, 9}, DType::F32, g);
  const std::vector<Tensor> empty = scan_on(s, randn({2, 0, 9}, DType::F32, g), Device::cuda());
  for (int i : {4, 5}) EXPECT_EQ(empty[i].to_vector<float>(), std::vector<float>(2 * 4 * 9, 0.f)) << names[i];
}

#ifdef HATTN_BIN
// The command line with --device cuda against --device cpu on the bundled Vim: classify (same top 5, logits),
// explain (every map, both variants) and attention (a layer's matrices), compared file by file.
TEST_F(Cuda, CommandLineMatchesCpu) {
  const std::string hattn = HATTN_BIN, root = HATTN_SOURCE_DIR;
  const std::string out = ::testing::TempDir() + "hattn_cuda_cli/";
  const std::string common = " --checkpoint " + root + "/models/weights/vim_cluttered.safetensors --image " + root +
                             "/tests/data/images/src_wide.png";
  auto run = [&](const std::string& device) -> std::string {
    const std::string dir = out + device + "/";
    for (const std::string& cmd :
         {"classify" + common + " --logits-npy " + dir + "logits.npy",
          "explain" + common + " --method all --out " + dir + "official",
          "explain" + common + " --method raw,rollout,attr --variant exact --out " + dir + "exact",
          "attention" + common + " --layer 1 --direction sum --channels 0:16 --out " + dir + "attention"}) {
      const std::string line = hattn + " " + cmd + " --device " + device + " > /dev/null";
      if (std::system(("mkdir -p " + dir + " && " + line).c_str()) != 0) ADD_FAILURE() << "failed: " << line;
    }
    return dir;
  };
  const std::string cpu = run("cpu"), gpu = run("cuda");
  if (HasFailure()) return;
  const Tensor lc = load_npy(cpu + "logits.npy"), lg = load_npy(gpu + "logits.npy");
  test::expect_close_scaled(lg, lc, "cuda.model", "hattn classify logits");
  auto top5 = [](const Tensor& logits) {
    std::vector<float> v = logits.to_vector<float>();
    std::vector<int> idx(v.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return v[a] > v[b]; });
    idx.resize(std::min<size_t>(5, idx.size()));
    return idx;
  };
  EXPECT_EQ(top5(lg), top5(lc));
  for (const char* m : {"raw", "rollout", "attr", "unified", "random", "saliency", "gradxinput"})
    test::expect_close_scaled(load_npy(gpu + "official/" + m + ".npy"), load_npy(cpu + "official/" + m + ".npy"),
                              "cuda.model", str("hattn explain ", m));
  for (const char* m : {"raw", "attr"})
    test::expect_close_scaled(load_npy(gpu + "exact/" + m + ".npy"), load_npy(cpu + "exact/" + m + ".npy"),
                              "cuda.model", str("hattn explain --variant exact ", m));
  {  // the exact rollout by its conditioning, from the same model and image run here on the CPU
    auto model = xai::load(root + "/models/weights/vim_cluttered.safetensors");
    const int64_t size = model->info().img_size;
    const Tensor image = normalize_image(
        preprocess_image(load_image(root + "/tests/data/images/src_wide.png"), size, Preprocess::Crop));
    const xai::Trace ctx = std::move(model->trace(image)[0]);
    test::expect_rollout_within_bound(load_npy(gpu + "exact/rollout.npy"), load_npy(cpu + "exact/rollout.npy"), ctx,
                                      model->info(),
                                      test::tolerance("cuda.rollout_input"), "hattn explain --variant exact rollout");
  }
  test::expect_close_scaled(load_npy(gpu + "attention/attn_l1_sum.npy"), load_npy(cpu + "attention/attn_l1_sum.npy"),
                            "cuda.model", "hattn attention layer 1");
}

// hattn lm generate --device cuda writes the same continuation as on the CPU (the bundled recall models).
TEST_F(Cuda, LmGenerateCommandLineMatchesCpu) {
  const std::string hattn = HATTN_BIN, root = HATTN_SOURCE_DIR;
  const std::string out = ::testing::TempDir() + "hattn_cuda_lm_generate_";
  for (const char* arch : {"mamba1", "mamba2"}) {
    std::string text[2];
    for (int i = 0; i < 2; ++i) {
      const std::string device = i == 0 ? "cpu" : "cuda", file = out + arch + "_" + device + ".txt";
      const std::string line = hattn + " lm generate --model " + root + "/models/weights/recall_" + arch +
                               " --text 'a3k7q1m9z2b5|m' --max-new-tokens 6 --device " + device + " > " + file +
                               " 2>/dev/null";
      if (std::system(line.c_str()) != 0) ADD_FAILURE() << "failed: " << line;
      std::ifstream in(file);
      std::getline(in, text[i]);
    }
    EXPECT_FALSE(text[0].empty()) << arch;
    EXPECT_EQ(text[1], text[0]) << arch;
  }
}
#endif

}  // namespace
}  // namespace ha
