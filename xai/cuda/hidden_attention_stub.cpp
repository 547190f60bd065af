// CPU-only build: hidden attention on CUDA traces reports that it has no CUDA implementation.
#include "tensor/error.h"
#include "xai/cuda/hidden_attention_cuda.h"

namespace ha::xai::cuda {

void rows(const TraceView&, int64_t, Row, float*, int) {
  throw Error("hidden attention has no CUDA implementation (this build found no nvcc)");
}
void matrices(const TraceView&, int64_t, int64_t, bool, float*, int) {
  throw Error("hidden attention has no CUDA implementation (this build found no nvcc)");
}

}  // namespace ha::xai::cuda
