// Every CUDA runtime call goes through HATTN_CUDA_CHECK, which throws with the call, file and line.
#pragma once
#include "tensor/cuda/runtime.h"

#include "tensor/error.h"

#define HATTN_CUDA_CHECK(call)                                                                  \
  do {                                                                                          \
    cudaError_t err_ = (call);                                                                  \
    if (err_ != cudaSuccess)                                                                    \
      throw ::ha::Error(::ha::str("CUDA error '", cudaGetErrorString(err_), "' in ", #call, " at ", \
                                  __FILE__, ":", __LINE__));                                    \
  } while (0)
