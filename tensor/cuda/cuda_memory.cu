#include "tensor/cuda/cuda_memory.h"
#include "tensor/cuda/kernel_common.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <unordered_map>

namespace ha::cuda {

template <class T>
__global__ void __launch_bounds__(kThreads) add_inplace_kernel(T* dst, const T* src, int64_t n) {
  int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) dst[i] += src[i];
}

// out = x through both strides, converted (From = To: a plain strided copy)
template <class From, class To>
__global__ void __launch_bounds__(kThreads) convert_kernel(const From* x, To* out, Strided s, int64_t n) {
  int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  int64_t off[2];
  offsets_of<2>(s, i, 0, off);
  out[off[0]] = static_cast<To>(x[off[1]]);
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

// The caching allocator. cudaMalloc and cudaFree synchronise the device and cost tens of microseconds, and
// a forward pass allocates hundreds of tensors, so freed blocks are kept per device in size classes and
// handed out again. Everything runs on the default stream, so a block freed on the host is reused only by
// work queued after the work that used it. A failed cudaMalloc releases the cache and retries once.
namespace {

struct Cache {
  std::mutex mu;
  std::multimap<size_t, void*> free_blocks[64];     // per device: size class -> block
  std::unordered_map<void*, size_t> sizes[64];      // per device: live and cached blocks -> size class
  size_t cached_bytes[64] = {}, live_bytes[64] = {};
};

Cache& cache() {
  static Cache* c = new Cache;  // never destroyed: frees may arrive during static destruction
  return *c;
}

// 512-byte classes below 1 MiB, 2 MiB classes above (few distinct sizes, bounded waste)
size_t size_class(size_t n) {
  const size_t small = 512, large = size_t(2) << 20;
  return n < (size_t(1) << 20) ? (n + small - 1) / small * small : (n + large - 1) / large * large;
}

void release_cached(int device) {
  Cache& c = cache();
  for (auto& [size, p] : c.free_blocks[device]) {
    cudaFree(p);
    c.sizes[device].erase(p);
  }
  c.free_blocks[device].clear();
  c.cached_bytes[device] = 0;
}

}  // namespace

void* device_alloc(size_t nbytes, int device) {
  HATTN_CHECK(available(), "device_alloc: no CUDA device is present on this machine");
  HATTN_CHECK(device >= 0 && device < 64, "device_alloc: device index ", device, " out of range");
  const size_t want = size_class(std::max<size_t>(nbytes, 1));
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = c.free_blocks[device].lower_bound(want);
  if (it != c.free_blocks[device].end() && it->first <= want + want / 4) {  // close enough: reuse
    void* p = it->second;
    c.cached_bytes[device] -= it->first;
    c.live_bytes[device] += it->first;
    c.free_blocks[device].erase(it);
    return p;
  }
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  void* p = nullptr;
  if (cudaMalloc(&p, want) != cudaSuccess) {
    cudaGetLastError();
    release_cached(device);
    HATTN_CUDA_CHECK(cudaMalloc(&p, want));
  }
  c.sizes[device][p] = want;
  c.live_bytes[device] += want;
  return p;
}

void device_free(void* p, int device) noexcept {
  if (!p || device < 0 || device >= 64) return;
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = c.sizes[device].find(p);
  if (it == c.sizes[device].end()) return;
  c.free_blocks[device].emplace(it->second, p);
  c.live_bytes[device] -= it->second;
  c.cached_bytes[device] += it->second;
}

void empty_cache(int device) {
  std::lock_guard<std::mutex> lock(cache().mu);
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  HATTN_CUDA_CHECK(cudaDeviceSynchronize());
  release_cached(device);
}

MemoryStats memory_stats(int device) {
  std::lock_guard<std::mutex> lock(cache().mu);
  return {cache().live_bytes[device], cache().cached_bytes[device]};
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

void set_device(int device) { HATTN_CUDA_CHECK(cudaSetDevice(device)); }

}  // namespace ha::cuda

namespace ha::cuda {

void add_inplace(void* dst, const void* src, int64_t n, bool double_precision, int device) {
  if (n == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  with_float(double_precision, [&](auto t) {
    using T = decltype(t);
    HATTN_LAUNCH(blocks_for(n), kThreads, 0, add_inplace_kernel)(as<T>(dst), as<T>(src), n);
  });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ha::cuda

namespace ha::cuda {

void strided_copy(int elem_bytes, const void* x, void* out, const Strided& s, int device) {
  // bits are bits: a copy is a conversion between equal dtypes of the element's size
  DType bits;
  switch (elem_bytes) {
    case 1: bits = DType::U8; break;
    case 4: bits = DType::I32; break;
    case 8: bits = DType::I64; break;
    default: throw Error(str("strided_copy: unsupported element size ", elem_bytes));
  }
  convert_copy(bits, bits, x, out, s, device);
}

}  // namespace ha::cuda

namespace ha::cuda {

void convert_copy(DType from, DType to, const void* x, void* out, const Strided& s, int device) {
  const int64_t n = element_count(s);
  if (n == 0) return;
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  dispatch_all(from, [&](auto from_tag) {
    using From = decltype(from_tag);
    dispatch_all(to, [&](auto to_tag) {
      using To = decltype(to_tag);
      HATTN_LAUNCH(blocks_for(n), kThreads, 0, convert_kernel<From, To>)(as<From>(x), as<To>(out), s, n);
    });
  });
  HATTN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ha::cuda
