// CPU-only build: the AdamW step reports that it has no CUDA implementation.
#include "ops/cuda/adamw_cuda.h"
#include "tensor/error.h"

namespace ha::cuda {

void adamw_step(float*, const float*, float*, float*, const float*, int64_t, float, float, float, float, float, float,
                int) {
  throw Error("the AdamW step has no CUDA implementation (this build found no nvcc)");
}

}  // namespace ha::cuda
