// NumPy .npy files (format 1.0-3.0): little-endian float32/float64/int64/int32/uint8, C or Fortran order.
#pragma once
#include <functional>
#include <string>

#include "tensor/tensor.h"

namespace ha {

Tensor load_npy(const std::string& path);             // errors name the file and the problem
void save_npy(const std::string& path, const Tensor& t);  // writes format 1.0, C order
// The same for an array of `shape` and `dtype` produced in slices along its first axis: `produce` calls `emit` with
// consecutive slices (each (k, shape[1:]...)), so the whole array is never held at once. Throws unless the slices
// add up to shape[0] rows of the right shape and dtype; the file appears only when complete.
void save_npy_streamed(const std::string& path, const Shape& shape, DType dtype,
                       const std::function<void(const std::function<void(const Tensor&)>& emit)>& produce);

}  // namespace ha
