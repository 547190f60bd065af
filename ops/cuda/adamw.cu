// One thread per parameter element (see adamw_cuda.h).
#include "ops/cuda/adamw_cuda.h"
#include "tensor/cuda/kernel_common.h"

namespace ha::cuda {
namespace {

__global__ void __launch_bounds__(kThreads) adamw_kernel(float* p, const float* g, float* m, float* v, const float* decay_mask, int64_t n, float b1,
                             float b2, float eps, float step, float vscale, float decay) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  float pi = p[i];
  if (decay_mask[i] != 0.f) pi -= decay * pi;
  const float gi = g[i];
  const float mi = b1 * m[i] + (1 - b1) * gi, vi = b2 * v[i] + (1 - b2) * gi * gi;
  m[i] = mi;
  v[i] = vi;
  p[i] = pi - step * mi / (sqrtf(vi) * vscale + eps);
}

}  // namespace

void adamw_step(float* p, const float* g, float* m, float* v, const float* decay_mask, int64_t n, float b1, float b2,
                float eps, float step, float vscale, float decay, int device) {
  if (n == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  HATTN_LAUNCH(blocks_for(n), kThreads, 0, adamw_kernel)(p, g, m, v, decay_mask, n, b1, b2, eps, step, vscale, decay);
  HATTN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ha::cuda
