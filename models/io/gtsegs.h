// ImageNet-Segmentation as distributed: gtsegs_ijcv.mat, a MATLAB v7.3 file (HDF5 after a 512-byte user block).
// /value/img is an [N, 1] array of object references, each to a uint8 dataset of shape (3, W, H) (MATLAB's
// H×W×3 seen transposed); /value/gt is [N, 1] references, each to a [1, 1] array holding one reference to the
// uint8 (W, H) mask of 0/1. HDF5 is not hardened against hostile files, so every read runs in a forked child
// (models/io/isolated.h) with HDF5's error printing off. Builds without HDF5 (libhdf5-dev) say so when opening.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "models/io/image.h"

namespace ha {

struct SegmentationItem {
  Image8 image;               // 8-bit RGB, its own size
  std::vector<uint8_t> mask;  // 0/1 per pixel of the image, row-major
};

class GtSegsFile {
 public:
  explicit GtSegsFile(const std::string& path);  // reads the layout: the number of items and their sizes
  int64_t size() const { return static_cast<int64_t>(sizes_.size()); }
  SegmentationItem item(int64_t i) const;

  static bool available();  // built with HDF5

 private:
  std::string path_;
  std::vector<std::pair<int64_t, int64_t>> sizes_;  // (width, height) of item i
};

}  // namespace ha
