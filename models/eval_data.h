// The data sets the evaluation protocols run on (docs/definitions.md §7, §11), as a count and a function from index
// to item, each item's image (and mask) already at the model's input size:
//   the cluttered Fashion-MNIST test set (the default; masks from the layout),
//   a folder of images: ImageFolder (one sub-folder per class, sorted = class index), or flat with a labels file
//     (lines "file class", or Kaggle's LOC_val_solution.csv with LOC_synset_mapping.txt); for segmentation each
//     image's mask beside it as NAME_mask.png,
//   ImageNet-Segmentation's gtsegs_ijcv.mat (MATLAB v7.3; needs HDF5).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/io/image.h"
#include "models/preprocess.h"

namespace ha {

struct EvalItem {
  Image8 image;                // input size × input size
  int64_t label = -1;          // -1: unknown (segmentation data without classes)
  std::vector<uint8_t> mask;   // segmentation only: input size², 1 = object
};

struct EvalDataSpec {
  std::string cluttered_dir;   // used when neither images nor mat is given
  std::string images, labels, synsets, mat;
  Preprocess preprocess = Preprocess::Squash;  // folder and .mat images only
  bool segmentation = false;   // items carry masks
  int64_t input_size = 0;      // the model's
};

class EvalData {
 public:
  explicit EvalData(const EvalDataSpec& spec);  // InputError naming what is wrong with the data
  int64_t size() const { return size_; }
  bool is_cluttered() const { return cluttered_; }
  std::string describe() const { return describe_; }  // the data's path, for run records
  EvalItem item(int64_t i) const { return item_(i); }

 private:
  int64_t size_ = 0;
  bool cluttered_ = false;
  std::string describe_;
  std::function<EvalItem(int64_t)> item_;
  std::shared_ptr<void> source_;  // what item_ reads (the cluttered set, the .mat file, the file list)
};

// The images of a folder with their classes, in the layouts listed above (exposed for tests).
std::vector<std::pair<std::string, int64_t>> list_labelled_images(const std::string& dir, const std::string& labels,
                                                                  const std::string& synsets, bool segmentation);

}  // namespace ha
