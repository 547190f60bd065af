// CPU-only build: the CUDA elementwise kernels report that they are absent.
#include "ops/cuda/elementwise_cuda.h"
#include "tensor/error.h"

namespace ha::cuda {

static void absent(const char* op) { throw Error(str(op, " has no CUDA implementation (this build found no nvcc)")); }

void unary_forward(Unary, bool, const void*, void*, int64_t, double, double, int) { absent("unary op"); }
void unary_backward(Unary, bool, const void*, const void*, const void*, void*, int64_t, double, double, int) {
  absent("unary op backward");
}
void binary(Binary, bool, const void*, const void*, void*, const Strided&, int) { absent("binary op"); }
void sum(bool, const void*, void*, const Strided&, const Strided&, int) { absent("sum"); }

}  // namespace ha::cuda
