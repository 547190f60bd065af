// CPU-only build: the row kernels report that they have no CUDA implementation.
#include "ops/cuda/rows_cuda.h"
#include "tensor/error.h"

namespace ha::cuda {

void softmax_rows(bool, bool, const void*, void*, int64_t, int64_t, int) {
  throw Error("softmax has no CUDA implementation (this build found no nvcc)");
}
void extremum_rows(bool, bool, const void*, void*, int64_t*, int64_t, int64_t, int) {
  throw Error("max/min has no CUDA implementation (this build found no nvcc)");
}

}  // namespace ha::cuda
