// CPU-only build: the cuBLAS GEMM reports that it is absent.
#include "ops/cuda/gemm_cuda.h"
#include "tensor/error.h"

namespace ha::cuda {

bool gemm_operand_ok(int64_t, int64_t, int64_t, int64_t) { return false; }
void gemm(bool, int64_t, int64_t, int64_t, const void*, int64_t, int64_t, const void*, int64_t, int64_t, void*, int64_t,
          int) {
  throw Error("matmul has no CUDA implementation (this build found no nvcc)");
}

}  // namespace ha::cuda
