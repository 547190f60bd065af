// CUDA: host <-> device round trips and device-side gradient accumulation, checked against the CPU.
// On a machine without a GPU (or a CPU-only build) every test here is skipped, loudly.
#include <gtest/gtest.h>

#include <iostream>

#include "tensor/cuda/cuda_memory.h"
#include "ops/ops.h"
#include "tensor/random.h"
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

TEST_F(Cuda, GradientAccumulationOnDevice) {
  Generator g(2);
  Tensor a = randn({1001}, DType::F32, g), b = randn({1001}, DType::F32, g);
  Tensor da = a.to(Device::cuda()), db = b.to(Device::cuda());
  raw::add_(da, db);
  raw::add_(a, b);
  EXPECT_EQ(da.to(Device::cpu()).to_vector<float>(), a.to_vector<float>());
}

TEST_F(Cuda, OpsWithoutKernelsSaySo) {
  Tensor d = Tensor::zeros({4}, DType::F32, Device::cuda());
  try {
    (void)d.flip(0).contiguous();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA"), std::string::npos) << e.what();
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
                    Shape5{2, 7, 17, 5, false, false}, Shape5{3, 130, 197, 16, true, true}}) {
    Generator g(7);
    ScanInputs s{randn({sh.B, sh.E, sh.L}, DType::F32, g), mul(randn({sh.B, sh.E, sh.L}, DType::F32, g), 0.5),
                 mul(uniform({sh.E, sh.N}, 0.5, 2, DType::F32, g), -1.0), randn({sh.B, sh.N, sh.L}, DType::F32, g),
                 randn({sh.B, sh.N, sh.L}, DType::F32, g)};
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
}

}  // namespace
}  // namespace ha
