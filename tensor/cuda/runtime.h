// The one header CUDA sources include for the runtime: NVIDIA's under nvcc, our emulation (tensor/cuda/emu/)
// when the build compiles the .cu files as host C++ (HATTN_CUDA_EMULATION, `make cuda-emu`).
//
// Every kernel launch is written
//   HATTN_LAUNCH(grid, block, shared_bytes, kernel<T>)(args...);
// which is kernel<T><<<grid, block, shared_bytes>>>(args...) under nvcc. The kernel comes last because a
// template kernel's name may hold commas. Shared memory is declared HATTN_SHARED_ARRAY(T, name, n), n elements of
// type T (an array type for a 2-d array: HATTN_SHARED_ARRAY(float[8], tile, 4) is float tile[4][8]), or
// HATTN_DYNAMIC_SHARED(T, name) (the launch's dynamic bytes), so that the emulation gives each block its own.
#pragma once

#ifdef HATTN_CUDA_EMULATION
#include "tensor/cuda/emu/emu_runtime.h"
// The kernel is called through a generic lambda so that template arguments are deduced as nvcc does.
#define HATTN_LAUNCH(grid, block, shared_bytes, ...)                                \
  ::ha::emu::Launch(#__VA_ARGS__, (grid), (block), (shared_bytes),                  \
                    [](auto&... hattn_args_) { __VA_ARGS__(hattn_args_...); })
#define HATTN_DYNAMIC_SHARED(T, name) T* name = static_cast<T*>(::ha::emu::dynamic_shared())
#define HATTN_SHARED_ARRAY(T, name, n)                                                          \
  using hattn_shared_type_##name = T;                                                           \
  static const char hattn_shared_key_##name = 0;                                                \
  hattn_shared_type_##name* const name = static_cast<hattn_shared_type_##name*>(::ha::emu::shared_array( \
      &hattn_shared_key_##name, sizeof(hattn_shared_type_##name) * (n), alignof(hattn_shared_type_##name)))
#else
#include <cuda_runtime.h>
#define HATTN_LAUNCH(grid, block, shared_bytes, ...) __VA_ARGS__<<<(grid), (block), (shared_bytes)>>>
#define HATTN_DYNAMIC_SHARED(T, name)                                 \
  extern __shared__ __align__(16) unsigned char hattn_dynamic_shared_[]; \
  T* name = reinterpret_cast<T*>(hattn_dynamic_shared_)
#define HATTN_SHARED_ARRAY(T, name, n)     \
  using hattn_shared_type_##name = T;      \
  __shared__ hattn_shared_type_##name name[n]
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
