// CUDA: host <-> device round trips and device-side gradient accumulation, checked against the CPU.
// On a machine without a GPU (or a CPU-only build) every test here is skipped, loudly.
#include <gtest/gtest.h>

#include <iostream>

#include "tensor/cuda/cuda_memory.h"
#include "tensor/random.h"

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

}  // namespace
}  // namespace ha
