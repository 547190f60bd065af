// The CUDA memory primitives the tensor layer needs. Implemented in cuda_memory.cu when the build found nvcc;
// otherwise cuda_memory_stub.cpp throws "<op> has no CUDA implementation".
#pragma once
#include <cstddef>
#include <cstdint>

#include "tensor/cuda/strided.h"
#include "tensor/dtype.h"

namespace ha::cuda {

bool available();       // built with CUDA and at least one device present
int device_count();
// Device memory through a caching allocator (freed blocks are reused; see cuda_memory.cu).
void* device_alloc(size_t nbytes, int device);
void device_free(void* p, int device) noexcept;
void empty_cache(int device);  // returns cached blocks to the driver
struct MemoryStats {
  size_t live_bytes, cached_bytes;
};
MemoryStats memory_stats(int device);
void copy_host_to_device(void* dst, const void* src, size_t nbytes, int device);
void copy_device_to_host(void* dst, const void* src, size_t nbytes, int device);
void copy_device_to_device(void* dst, const void* src, size_t nbytes, int device);
void memset_zero(void* dst, size_t nbytes, int device);
void synchronize(int device);
// out (strides s.stride[0]; distinct elements) = x (strides s.stride[1]), elements of 1, 2, 4 or 8 bytes.
void strided_copy(int elem_bytes, const void* x, void* out, const Strided& s, int device);
// out (strides s.stride[0], dtype `to`) = x (strides s.stride[1], dtype `from`) converted as static_cast does.
void convert_copy(DType from, DType to, const void* x, void* out, const Strided& s, int device);
// dst[i] += src[i] for n contiguous elements of float (double_precision = false) or double.
void add_inplace(void* dst, const void* src, int64_t n, bool double_precision, int device);

}  // namespace ha::cuda
