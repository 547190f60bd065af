// RMSNorm and depthwise causal conv1d on the GPU (see norm_conv_cuda.h).
#include "ops/cuda/norm_conv_cuda.h"
#include "tensor/cuda/cuda_check.h"

namespace ha::cuda {
namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

// Sum of one value per thread over the block, in a fixed tree order; every thread gets the result.
__device__ double block_sum(double v) {
  __shared__ double buf[kThreads];
  buf[threadIdx.x] = v;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) buf[threadIdx.x] += buf[threadIdx.x + s];
    __syncthreads();
  }
  const double total = buf[0];
  __syncthreads();
  return total;
}

// one block per row
template <class T>
__global__ void rms_forward_kernel(const T* x, const T* w, T* y, T* rstd, int64_t D, double eps) {
  const int64_t r = blockIdx.x;
  const T* xr = x + r * D;
  double ss = 0;
  for (int64_t i = threadIdx.x; i < D; i += kThreads) ss += double(xr[i]) * xr[i];
  const T rs = T(1.0 / sqrt(block_sum(ss) / D + eps));
  if (threadIdx.x == 0) rstd[r] = rs;
  for (int64_t i = threadIdx.x; i < D; i += kThreads) y[r * D + i] = xr[i] * rs * w[i];
}

template <class T>
__global__ void rms_backward_dx_kernel(const T* g, const T* x, const T* w, const T* rstd, T* dx, int64_t D) {
  const int64_t r = blockIdx.x;
  const T* xr = x + r * D;
  const T* gr = g + r * D;
  const T rr = rstd[r];
  double dot = 0;
  for (int64_t i = threadIdx.x; i < D; i += kThreads) dot += double(gr[i]) * w[i] * xr[i];
  const T c = T(block_sum(dot) * rr * rr * rr / D);
  for (int64_t i = threadIdx.x; i < D; i += kThreads) dx[r * D + i] = rr * gr[i] * w[i] - xr[i] * c;
}

// one thread per column, rows in order
template <class T>
__global__ void rms_backward_dw_kernel(const T* g, const T* x, const T* rstd, T* dw, int64_t R, int64_t D) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= D) return;
  double acc = 0;
  for (int64_t r = 0; r < R; ++r) acc += double(g[r * D + i]) * x[r * D + i] * rstd[r];
  dw[i] = T(acc);
}

template <class T>
__global__ void ln_forward_kernel(const T* x, const T* w, const T* b, T* y, T* xhat, T* rstd, int64_t D, double eps) {
  const int64_t r = blockIdx.x;
  const T* xr = x + r * D;
  double s = 0;
  for (int64_t i = threadIdx.x; i < D; i += kThreads) s += xr[i];
  const double m = block_sum(s) / D;
  double v = 0;
  for (int64_t i = threadIdx.x; i < D; i += kThreads) v += (xr[i] - m) * (xr[i] - m);
  const double rs = 1.0 / sqrt(block_sum(v) / D + eps);
  if (threadIdx.x == 0) rstd[r] = T(rs);
  for (int64_t i = threadIdx.x; i < D; i += kThreads) {
    const T h = T((xr[i] - m) * rs);
    xhat[r * D + i] = h;
    y[r * D + i] = h * w[i] + b[i];
  }
}

template <class T>
__global__ void ln_backward_dx_kernel(const T* g, const T* xhat, const T* w, const T* rstd, T* dx, int64_t D) {
  const int64_t r = blockIdx.x;
  const T* gr = g + r * D;
  const T* hr = xhat + r * D;
  double s1 = 0, s2 = 0;
  for (int64_t i = threadIdx.x; i < D; i += kThreads) {
    s1 += double(gr[i]) * w[i];
    s2 += double(gr[i]) * w[i] * hr[i];
  }
  const T m1 = T(block_sum(s1) / D), m2 = T(block_sum(s2) / D);
  for (int64_t i = threadIdx.x; i < D; i += kThreads) dx[r * D + i] = rstd[r] * (gr[i] * w[i] - m1 - hr[i] * m2);
}

// one thread per column: dw = Σ_r g xhat, db = Σ_r g, rows in order
template <class T>
__global__ void ln_backward_wb_kernel(const T* g, const T* xhat, T* dw, T* db, int64_t R, int64_t D) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= D) return;
  double aw = 0, ab = 0;
  for (int64_t r = 0; r < R; ++r) {
    aw += double(g[r * D + i]) * xhat[r * D + i];
    ab += g[r * D + i];
  }
  if (dw) dw[i] = T(aw);
  if (db) db[i] = T(ab);
}

// y[b,e,t] = bias[e] + sum_k w[e,k] x[b,e,t-(K-1)+k]
template <class T>
__global__ void conv_forward_kernel(const T* x, const T* w, const T* bias, T* y, int64_t E, int64_t L, int64_t K,
                                    int64_t n) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const int64_t t = i % L, e = (i / L) % E;
  const T* xr = x + (i - t);
  T acc = bias ? bias[e] : T(0);
  for (int64_t k = 0; k < K; ++k) {
    const int64_t s = t - (K - 1) + k;
    if (s >= 0) acc += w[e * K + k] * xr[s];
  }
  y[i] = acc;
}

// dx[b,e,s] = sum_k w[e,k] g[b,e,s+(K-1)-k]
template <class T>
__global__ void conv_backward_dx_kernel(const T* g, const T* w, T* dx, int64_t E, int64_t L, int64_t K, int64_t n) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const int64_t s = i % L, e = (i / L) % E;
  const T* gr = g + (i - s);
  T acc = 0;
  for (int64_t k = 0; k < K; ++k) {
    const int64_t t = s + (K - 1) - k;
    if (t < L) acc += w[e * K + k] * gr[t];
  }
  dx[i] = acc;
}

// one thread per (e, k) for dw and per e for dbias; batches and steps in order
template <class T>
__global__ void conv_backward_dw_kernel(const T* g, const T* x, T* dw, T* dbias, int64_t B, int64_t E, int64_t L,
                                        int64_t K) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= E * (K + 1)) return;
  const int64_t e = i / (K + 1), k = i % (K + 1);  // k == K: the bias
  if ((k == K && !dbias) || (k < K && !dw)) return;
  double acc = 0;
  for (int64_t b = 0; b < B; ++b) {
    const T* gr = g + (b * E + e) * L;
    const T* xr = x + (b * E + e) * L;
    if (k == K) {
      for (int64_t t = 0; t < L; ++t) acc += gr[t];
    } else {
      for (int64_t t = K - 1 - k; t < L; ++t) acc += double(gr[t]) * xr[t - (K - 1) + k];
    }
  }
  if (k == K) {
    if (dbias) dbias[e] = T(acc);
  } else if (dw) {
    dw[e * K + k] = T(acc);
  }
}

template <class T>
const T* c(const void* p) { return static_cast<const T*>(p); }
template <class T>
T* m(void* p) { return static_cast<T*>(p); }

template <class T>
void rms_forward(const void* x, const void* w, void* y, void* rstd, int64_t R, int64_t D, double eps) {
  HATTN_LAUNCH(unsigned(R), kThreads, 0, rms_forward_kernel<T>)(c<T>(x), c<T>(w), m<T>(y), m<T>(rstd), D, eps);
}

template <class T>
void rms_backward(const void* g, const void* x, const void* w, const void* rstd, void* dx, void* dw, int64_t R,
                  int64_t D) {
  if (dx) HATTN_LAUNCH(unsigned(R), kThreads, 0, rms_backward_dx_kernel<T>)(c<T>(g), c<T>(x), c<T>(w), c<T>(rstd), m<T>(dx), D);
  if (dw) HATTN_LAUNCH(blocks_for(D), kThreads, 0, rms_backward_dw_kernel<T>)(c<T>(g), c<T>(x), c<T>(rstd), m<T>(dw), R, D);
}

template <class T>
void conv_forward(const void* x, const void* w, const void* bias, void* y, int64_t B, int64_t E, int64_t L, int64_t K) {
  const int64_t n = B * E * L;
  HATTN_LAUNCH(blocks_for(n), kThreads, 0, conv_forward_kernel<T>)(c<T>(x), c<T>(w), c<T>(bias), m<T>(y), E, L, K, n);
}

template <class T>
void conv_backward(const void* g, const void* x, const void* w, void* dx, void* dw, void* dbias, int64_t B, int64_t E,
                   int64_t L, int64_t K) {
  const int64_t n = B * E * L;
  if (dx) HATTN_LAUNCH(blocks_for(n), kThreads, 0, conv_backward_dx_kernel<T>)(c<T>(g), c<T>(w), m<T>(dx), E, L, K, n);
  if (dw || dbias)
    HATTN_LAUNCH(blocks_for(E * (K + 1)), kThreads, 0, conv_backward_dw_kernel<T>)(c<T>(g), c<T>(x), m<T>(dw), m<T>(dbias), B, E, L, K);
}

}  // namespace

void rms_norm_forward(bool f64, const void* x, const void* w, void* y, void* rstd, int64_t R, int64_t D, double eps,
                      int device) {
  if (R == 0) return;
  HATTN_CHECK(R < (int64_t(1) << 31), "rms_norm (CUDA): too many rows");
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_float(f64, [&](auto t) { rms_forward<decltype(t)>(x, w, y, rstd, R, D, eps); });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

void rms_norm_backward(bool f64, const void* g, const void* x, const void* w, const void* rstd, void* dx, void* dw,
                       int64_t R, int64_t D, int device) {
  if (R == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_float(f64, [&](auto t) { rms_backward<decltype(t)>(g, x, w, rstd, dx, dw, R, D); });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

template <class T>
void ln_forward(const void* x, const void* w, const void* b, void* y, void* xhat, void* rstd, int64_t R, int64_t D,
                double eps) {
  HATTN_LAUNCH(unsigned(R), kThreads, 0, ln_forward_kernel<T>)(c<T>(x), c<T>(w), c<T>(b), m<T>(y), m<T>(xhat), m<T>(rstd), D, eps);
}

template <class T>
void ln_backward(const void* g, const void* xhat, const void* w, const void* rstd, void* dx, void* dw, void* db,
                 int64_t R, int64_t D) {
  if (dx) HATTN_LAUNCH(unsigned(R), kThreads, 0, ln_backward_dx_kernel<T>)(c<T>(g), c<T>(xhat), c<T>(w), c<T>(rstd), m<T>(dx), D);
  if (dw || db) HATTN_LAUNCH(blocks_for(D), kThreads, 0, ln_backward_wb_kernel<T>)(c<T>(g), c<T>(xhat), m<T>(dw), m<T>(db), R, D);
}

void layer_norm_forward(bool f64, const void* x, const void* w, const void* b, void* y, void* xhat, void* rstd,
                        int64_t R, int64_t D, double eps, int device) {
  if (R == 0) return;
  HATTN_CHECK(R < (int64_t(1) << 31), "layer_norm (CUDA): too many rows");
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_float(f64, [&](auto t) { ln_forward<decltype(t)>(x, w, b, y, xhat, rstd, R, D, eps); });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

void layer_norm_backward(bool f64, const void* g, const void* xhat, const void* w, const void* rstd, void* dx,
                         void* dw, void* db, int64_t R, int64_t D, int device) {
  if (R == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_float(f64, [&](auto t) { ln_backward<decltype(t)>(g, xhat, w, rstd, dx, dw, db, R, D); });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

void causal_conv1d_forward(bool f64, const void* x, const void* w, const void* bias, void* y, int64_t B, int64_t E,
                           int64_t L, int64_t K, int device) {
  if (B * E * L == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_float(f64, [&](auto t) { conv_forward<decltype(t)>(x, w, bias, y, B, E, L, K); });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

void causal_conv1d_backward(bool f64, const void* g, const void* x, const void* w, void* dx, void* dw, void* dbias,
                            int64_t B, int64_t E, int64_t L, int64_t K, int device) {
  if (B * E * L == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_float(f64, [&](auto t) { conv_backward<decltype(t)>(g, x, w, dx, dw, dbias, B, E, L, K); });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ha::cuda
