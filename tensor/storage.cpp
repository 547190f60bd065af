#include "tensor/storage.h"

#include <cstdlib>
#include <new>

#include "tensor/cuda/cuda_memory.h"
#include "tensor/error.h"

namespace ha {

// 64-byte alignment: a cache line and an AVX-512 register.
static constexpr size_t kAlign = 64;

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  if (device.is_cpu()) {
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
