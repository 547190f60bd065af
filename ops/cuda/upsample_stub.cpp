// CPU-only build: bilinear upsampling reports that it has no CUDA implementation.
#include "ops/cuda/upsample_cuda.h"
#include "tensor/error.h"

namespace ha::cuda {

void upsample_bilinear_forward(bool, const void*, void*, int64_t, int64_t, int64_t, int64_t, int64_t, int) {
  throw Error("upsample_bilinear has no CUDA implementation (this build found no nvcc)");
}
void upsample_bilinear_backward(bool, const void*, void*, int64_t, int64_t, int64_t, int64_t, int64_t, int) {
  throw Error("upsample_bilinear has no CUDA implementation (this build found no nvcc)");
}

}  // namespace ha::cuda
