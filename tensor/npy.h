// NumPy .npy files (format 1.0-3.0): little-endian float32/float64/int64/int32/uint8, C or Fortran order.
#pragma once
#include <string>

#include "tensor/tensor.h"

namespace ha {

Tensor load_npy(const std::string& path);             // errors name the file and the problem
void save_npy(const std::string& path, const Tensor& t);  // writes format 1.0, C order

}  // namespace ha
