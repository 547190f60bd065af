// The one header CUDA sources include for the runtime: NVIDIA's under nvcc, our emulation (tensor/cuda/emu/)
// when the build compiles the .cu files as host C++ (HATTN_CUDA_EMULATION, `make cuda-emu`).
//
// Every kernel launch is written
//   HATTN_LAUNCH(grid, block, shared_bytes, kernel<T>)(args...);
// which is kernel<T><<<grid, block, shared_bytes>>>(args...) under nvcc. The kernel comes last because a
// template kernel's name may hold commas. Dynamic shared memory is declared HATTN_DYNAMIC_SHARED(T, name).
#pragma once

#ifdef HATTN_CUDA_EMULATION
#include "tensor/cuda/emu/emu_runtime.h"
// The kernel is called through a generic lambda so that template arguments are deduced as nvcc does.
#define HATTN_LAUNCH(grid, block, shared_bytes, ...)                                \
  ::ha::emu::Launch(#__VA_ARGS__, (grid), (block), (shared_bytes),                  \
                    [](auto&... hattn_args_) { __VA_ARGS__(hattn_args_...); })
#define HATTN_DYNAMIC_SHARED(T, name) T* name = static_cast<T*>(::ha::emu::dynamic_shared())
#else
#include <cuda_runtime.h>
#define HATTN_LAUNCH(grid, block, shared_bytes, ...) __VA_ARGS__<<<(grid), (block), (shared_bytes)>>>
#define HATTN_DYNAMIC_SHARED(T, name)                                 \
  extern __shared__ __align__(16) unsigned char hattn_dynamic_shared_[]; \
  T* name = reinterpret_cast<T*>(hattn_dynamic_shared_)
#endif

namespace ha::cuda {

// The one place a kernel's float type is chosen: f(double{}) when f64, else f(float{}). A launch reads
//   with_float(f64, [&](auto t) { using T = decltype(t); HATTN_LAUNCH(g, b, 0, kernel<T>)(...); });
template <class F>
void with_float(bool f64, F&& f) {
  if (f64)
    f(double{});
  else
    f(float{});
}

}  // namespace ha::cuda
