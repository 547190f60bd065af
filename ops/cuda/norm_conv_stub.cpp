// CPU-only build: RMSNorm and causal conv1d report that they have no CUDA implementation.
#include "ops/cuda/norm_conv_cuda.h"
#include "tensor/error.h"

namespace ha::cuda {

static void absent(const char* op) { throw Error(str(op, " has no CUDA implementation (this build found no nvcc)")); }

void rms_norm_forward(bool, const void*, const void*, void*, void*, int64_t, int64_t, double, int) { absent("rms_norm"); }
void rms_norm_backward(bool, const void*, const void*, const void*, const void*, void*, void*, int64_t, int64_t, int) {
  absent("rms_norm");
}
void layer_norm_forward(bool, const void*, const void*, const void*, void*, void*, void*, int64_t, int64_t, double,
                        int) {
  absent("layer_norm");
}
void layer_norm_backward(bool, const void*, const void*, const void*, const void*, void*, void*, void*, int64_t,
                         int64_t, int) {
  absent("layer_norm");
}
void causal_conv1d_forward(bool, const void*, const void*, const void*, void*, int64_t, int64_t, int64_t, int64_t, int) {
  absent("causal_conv1d");
}
void causal_conv1d_backward(bool, const void*, const void*, const void*, void*, void*, void*, int64_t, int64_t, int64_t,
                            int64_t, int) {
  absent("causal_conv1d");
}

}  // namespace ha::cuda
