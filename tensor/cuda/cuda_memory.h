// The CUDA memory primitives the tensor layer needs, implemented in cuda_memory.cu. A CPU-only build answers
// the questions (no device, nothing cached) and makes every other entry throw (tensor/cuda/entry.h).
#pragma once
#include <cstddef>
#include <cstdint>

#include "tensor/cuda/entry.h"
#include "tensor/cuda/strided.h"
#include "tensor/dtype.h"

namespace ha::cuda {

struct MemoryStats {
  size_t live_bytes, cached_bytes;
};

#if HATTN_WITH_CUDA
bool available();  // at least one device present
int device_count();
void device_free(void* p, int device) noexcept;
void empty_cache(int device);  // returns cached blocks to the driver
MemoryStats memory_stats(int device);
#else
inline bool available() { return false; }
inline int device_count() { return 0; }
inline void device_free(void*, int) noexcept {}
inline void empty_cache(int) {}
inline MemoryStats memory_stats(int) { return {0, 0}; }
#endif

// Device memory through a caching allocator (freed blocks are reused; see cuda_memory.cu).
HATTN_CUDA_ENTRY(void* device_alloc(size_t nbytes, int device));
HATTN_CUDA_ENTRY(void copy_host_to_device(void* dst, const void* src, size_t nbytes, int device));
HATTN_CUDA_ENTRY(void copy_device_to_host(void* dst, const void* src, size_t nbytes, int device));
HATTN_CUDA_ENTRY(void copy_device_to_device(void* dst, const void* src, size_t nbytes, int device));
HATTN_CUDA_ENTRY(void memset_zero(void* dst, size_t nbytes, int device));
HATTN_CUDA_ENTRY(void synchronize(int device));
// A kernel's scratch of n elements of T from the caching allocator, returned to it at the end of the scope. The
// stream is in order, so work launched later cannot reuse the block before the kernels queued now have read it.
template <class T>
class DeviceScratch {
 public:
  DeviceScratch(size_t n, int device) : device_(device) {
    p_ = static_cast<T*>(device_alloc((n ? n : 1) * sizeof(T), device));
  }
  ~DeviceScratch() { device_free(p_, device_); }
  DeviceScratch(const DeviceScratch&) = delete;
  DeviceScratch& operator=(const DeviceScratch&) = delete;
  T* get() const { return p_; }

 private:
  T* p_ = nullptr;
  int device_;
};
// Makes `device` the calling thread's current one (kernels launch there): a thread entering the library for a
// model on cuda:N (the C API) sets it first.
HATTN_CUDA_ENTRY(void set_device(int device));
// out (strides s.stride[0]; distinct elements) = x (strides s.stride[1]), elements of 1, 4 or 8 bytes.
HATTN_CUDA_ENTRY(void strided_copy(int elem_bytes, const void* x, void* out, const Strided& s, int device));
// out (strides s.stride[0], dtype `to`) = x (strides s.stride[1], dtype `from`) converted as static_cast does.
HATTN_CUDA_ENTRY(void convert_copy(DType from, DType to, const void* x, void* out, const Strided& s, int device));
// dst[i] += src[i] for n contiguous elements of float (double_precision = false) or double.
HATTN_CUDA_ENTRY(void add_inplace(void* dst, const void* src, int64_t n, bool double_precision, int device));

}  // namespace ha::cuda
