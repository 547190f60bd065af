// IDX files (the MNIST / Fashion-MNIST format), optionally gzip-compressed: a big-endian header
// (0, 0, type, rank, then rank u32 sizes) followed by the data. Only unsigned-byte data (type 0x08).
#pragma once
#include <string>

#include "tensor/tensor.h"

namespace ha {

Tensor load_idx(const std::string& path);  // uint8 tensor of the file's shape; errors name the file

}  // namespace ha
