// The op samples: for every op with a backward, inputs with awkward shapes and the op applied to them, in one list
// that the tests iterate: the float64 finite-difference gradient check (tests/test_gradcheck.cpp), the coverage
// check that every op of autograd/op_names.h has a sample (same file), and the CUDA-vs-CPU parity test, emulated
// and real (Cuda.EveryOpSampleMatchesCpu in tests/test_cuda.cpp). A new op adds its sample here.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "ops/ops.h"
#include "tensor/random.h"

namespace ha::test {

using Inputs = std::vector<Tensor>;
using Fn = std::function<Tensor(const Inputs&)>;

struct OpSample {
  std::string name;
  std::function<Inputs(Generator&)> make;  // float64 inputs on the CPU
  Fn f;                                    // the op on them, on any device
  int max_probes = 48;                     // finite-difference probes per input
  // The CUDA parity test: its tolerance family ("elementwise": element-wise bounds; "gemm": relative to the
  // reference's maximum, for sums in another order; "scan": the selective scan's), whether the CUDA kernels take
  // float64 too, or "" where the op has no CUDA kernel.
  std::string cuda = "elementwise";
  bool cuda_f64 = true;
};

const std::vector<OpSample>& op_samples();

}  // namespace ha::test
