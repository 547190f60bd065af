// CPU-only build: the CUDA selective scan reports that it has no CUDA implementation.
#include "ops/cuda/selective_scan_cuda.h"
#include "tensor/error.h"

namespace ha::cuda {

void selective_scan_forward(const cpu::ScanArgs<float>&, float*, int) {
  throw Error("selective_scan has no CUDA implementation (this build found no nvcc)");
}
void selective_scan_backward(const cpu::ScanArgs<float>&, const float*, float*, float*, float*, float*, float*, float*,
                             float*, float*, int) {
  throw Error("selective_scan has no CUDA implementation (this build found no nvcc)");
}

}  // namespace ha::cuda
