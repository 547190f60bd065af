#include "tensor/storage.h"

#include <malloc.h>

#include <cstdlib>
#include <new>

#include "tensor/cuda/cuda_memory.h"
#include "tensor/error.h"

namespace ha {

// 64-byte alignment: a cache line and an AVX-512 register.
static constexpr size_t kAlign = 64;

// Activations of a forward/backward pass are a few MB each and freed every step. With glibc's defaults
// such blocks are mmapped or trimmed back to the OS on free, so every step page-faults its memory in
// again (clear_page was 12% of a training step). Keep up to 32 MB blocks (glibc's maximum) on the heap and
// do not trim it: the memory is reused instead. Peak usage is unchanged.
static void keep_freed_memory() {
  static const bool done = [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    return true;
  }();
  (void)done;
}

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  if (device.is_cpu()) {
    keep_freed_memory();
    size_t rounded = (nbytes + kAlign - 1) / kAlign * kAlign;
    data_ = std::aligned_alloc(kAlign, rounded ? rounded : kAlign);
    HATTN_CHECK(data_ != nullptr, "Storage: out of host memory allocating ", nbytes, " bytes");
  } else {
    data_ = cuda::device_alloc(nbytes ? nbytes : 1, device.index);
  }
}

Storage::~Storage() {
  if (device_.is_cpu()) {
    std::free(data_);
  } else {
    cuda::device_free(data_, device_.index);
  }
}

}  // namespace ha
