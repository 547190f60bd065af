#include "tensor/cuda/cuda_check.h"
#include "tensor/cuda/cuda_memory.h"

namespace ha::cuda {

template <class T>
__global__ void add_inplace_kernel(T* dst, const T* src, int64_t n) {
  int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) dst[i] += src[i];
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
