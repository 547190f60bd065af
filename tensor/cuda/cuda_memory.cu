#include "tensor/cuda/cuda_check.h"
#include "tensor/cuda/cuda_memory.h"

namespace ha::cuda {

template <class T>
__global__ void add_inplace_kernel(T* dst, const T* src, int64_t n) {
  int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) dst[i] += src[i];
}

template <class T>
__global__ void strided_copy_kernel(const T* x, T* out, Strided s, int64_t n) {
  int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  int64_t o = 0, xi = 0;
  for (int d = s.nd - 1; d >= 0; --d) {
    const int64_t idx = i % s.shape[d];
    i /= s.shape[d];
    o += idx * s.stride[0][d];
    xi += idx * s.stride[1][d];
  }
  out[o] = x[xi];
}

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return 0;
  }
  return n;
}

bool available() { return device_count() > 0; }

void* device_alloc(size_t nbytes, int device) {
  HATTN_CHECK(available(), "device_alloc: no CUDA device is present on this machine");
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  void* p = nullptr;
  HATTN_CUDA_CHECK(cudaMalloc(&p, nbytes));
  return p;
}

void device_free(void* p, int device) noexcept {
  if (!p) return;
  cudaSetDevice(device);
  cudaFree(p);
}

void copy_host_to_device(void* dst, const void* src, size_t nbytes, int device) {
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  HATTN_CUDA_CHECK(cudaMemcpy(dst, src, nbytes, cudaMemcpyHostToDevice));
}

void copy_device_to_host(void* dst, const void* src, size_t nbytes, int device) {
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  HATTN_CUDA_CHECK(cudaMemcpy(dst, src, nbytes, cudaMemcpyDeviceToHost));
}

void copy_device_to_device(void* dst, const void* src, size_t nbytes, int device) {
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  HATTN_CUDA_CHECK(cudaMemcpy(dst, src, nbytes, cudaMemcpyDeviceToDevice));
}

void memset_zero(void* dst, size_t nbytes, int device) {
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  HATTN_CUDA_CHECK(cudaMemset(dst, 0, nbytes));
}

void synchronize(int device) {
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  HATTN_CUDA_CHECK(cudaDeviceSynchronize());
}

}  // namespace ha::cuda

namespace ha::cuda {

void add_inplace(void* dst, const void* src, int64_t n, bool double_precision, int device) {
  if (n == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  const int threads = 256;
  const unsigned blocks = static_cast<unsigned>((n + threads - 1) / threads);
  if (double_precision) {
    add_inplace_kernel<<<blocks, threads>>>(static_cast<double*>(dst), static_cast<const double*>(src), n);
  } else {
    add_inplace_kernel<<<blocks, threads>>>(static_cast<float*>(dst), static_cast<const float*>(src), n);
  }
  HATTN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ha::cuda

namespace ha::cuda {

void strided_copy(int elem_bytes, const void* x, void* out, const Strided& s, int device) {
  int64_t n = 1;
  for (int d = 0; d < s.nd; ++d) n *= s.shape[d];
  if (n == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  const int threads = 256;
  const unsigned blocks = static_cast<unsigned>((n + threads - 1) / threads);
  switch (elem_bytes) {
    case 1: strided_copy_kernel<<<blocks, threads>>>(static_cast<const uint8_t*>(x), static_cast<uint8_t*>(out), s, n); break;
    case 2: strided_copy_kernel<<<blocks, threads>>>(static_cast<const uint16_t*>(x), static_cast<uint16_t*>(out), s, n); break;
    case 4: strided_copy_kernel<<<blocks, threads>>>(static_cast<const uint32_t*>(x), static_cast<uint32_t*>(out), s, n); break;
    case 8: strided_copy_kernel<<<blocks, threads>>>(static_cast<const uint64_t*>(x), static_cast<uint64_t*>(out), s, n); break;
    default: throw Error(str("strided_copy: unsupported element size ", elem_bytes));
  }
  HATTN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ha::cuda
