// How a CUDA entry point (a host function that launches kernels) is declared:
//   HATTN_CUDA_ENTRY(void rms_norm_forward(bool f64, const void* x, ...));
// In a build with CUDA (nvcc, or the emulation of `make cuda-emu`) this is the plain declaration and the
// .cu file defines it. A CPU-only build compiles no .cu file: there the macro defines the function inline to
// throw "<name> has no CUDA implementation", so every op's device dispatch links unchanged. (No CUDA tensor can
// be made in such a build, so the throw is a guard, not a path users reach.)
#pragma once

#if HATTN_WITH_CUDA
#define HATTN_CUDA_ENTRY(...) __VA_ARGS__
#else
#include "tensor/error.h"

namespace ha::cuda {
[[noreturn]] inline void not_built(const char* entry) {
  throw Error(str(entry, " has no CUDA implementation: this build found no nvcc (rebuild with the CUDA toolkit)"));
}
}  // namespace ha::cuda

#define HATTN_CUDA_ENTRY(...) \
  [[noreturn]] inline __VA_ARGS__ { ::ha::cuda::not_built(__func__); }
#endif
