// CPU-only build: every CUDA entry point reports that it has no CUDA implementation.
#include "tensor/cuda/cuda_memory.h"
#include "tensor/error.h"

namespace ha::cuda {

[[noreturn]] static void no_cuda(const char* op) {
  throw Error(str(op, " has no CUDA implementation (this build found no nvcc; rebuild with the CUDA toolkit)"));
}

bool available() { return false; }
int device_count() { return 0; }
void* device_alloc(size_t, int) { no_cuda("device_alloc"); }
void device_free(void*, int) noexcept {}
void empty_cache(int) {}
MemoryStats memory_stats(int) { return {0, 0}; }
void copy_host_to_device(void*, const void*, size_t, int) { no_cuda("copy_host_to_device"); }
void copy_device_to_host(void*, const void*, size_t, int) { no_cuda("copy_device_to_host"); }
void copy_device_to_device(void*, const void*, size_t, int) { no_cuda("copy_device_to_device"); }
void memset_zero(void*, size_t, int) { no_cuda("memset_zero"); }
void synchronize(int) { no_cuda("synchronize"); }
void add_inplace(void*, const void*, int64_t, bool, int) { no_cuda("add_inplace"); }
void strided_copy(int, const void*, void*, const Strided&, int) { no_cuda("strided_copy"); }
void convert_copy(DType, DType, const void*, void*, const Strided&, int) { no_cuda("convert_copy"); }

}  // namespace ha::cuda
