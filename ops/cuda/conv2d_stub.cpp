// CPU-only build: conv2d's CUDA helpers report that they are absent.
#include "ops/cuda/conv2d_cuda.h"
#include "tensor/error.h"

namespace ha::cuda {

void im2col(bool, const void*, const ConvShape&, void*, int64_t, int) {
  throw Error("conv2d has no CUDA implementation (this build found no nvcc)");
}
void col2im(bool, const void*, const ConvShape&, void*, int) {
  throw Error("conv2d has no CUDA implementation (this build found no nvcc)");
}

}  // namespace ha::cuda
