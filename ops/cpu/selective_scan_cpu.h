// CPU kernels of the fused selective scan (see ops/selective_scan.cpp for the math). All pointers are
// contiguous: u, delta, z (B,E,L); A (E,N); Bm, Cm (B,N,L); D, delta_bias (E). D, z, delta_bias may be null.
#pragma once
#include <cstdint>

namespace ha::cpu {

template <class T>
struct ScanArgs {
  int64_t B, E, L, N;
  const T *u, *delta, *A, *Bm, *Cm, *D, *z, *delta_bias;
  bool delta_softplus, reverse;
};

template <class T>
void selective_scan_forward(const ScanArgs<T>& a, T* out);

// Gradients with respect to every input; a null output pointer skips that gradient (never the shared work).
template <class T>
void selective_scan_backward(const ScanArgs<T>& a, const T* dout, T* du, T* ddelta, T* dA, T* dB, T* dC, T* dD,
                             T* dz, T* ddelta_bias);

}  // namespace ha::cpu
