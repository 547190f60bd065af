// The scalar activations every kernel shares — CPU scalar code, the vectorised CPU kernels (their threshold)
// and the CUDA kernels — so that there is one sigmoid and one softplus threshold in the project.
#pragma once
#include <cmath>

#if defined(__CUDACC__)
#define HATTN_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define HATTN_HOST_DEVICE inline
#endif

namespace ha::scalar {

// PyTorch's softplus (and so Mamba's Δ) returns x itself above this threshold.
constexpr float kSoftplusThreshold = 20.f;

template <class T>
HATTN_HOST_DEVICE T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

template <class T>
HATTN_HOST_DEVICE T softplus(T x) {
  return x > T(kSoftplusThreshold) ? x : std::log1p(std::exp(x));
}

// d softplus / dx
template <class T>
HATTN_HOST_DEVICE T softplus_grad(T x) {
  return x > T(kSoftplusThreshold) ? T(1) : sigmoid(x);
}

}  // namespace ha::scalar
