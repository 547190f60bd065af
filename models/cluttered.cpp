#include "models/cluttered.h"

#include <algorithm>
#include <cstring>

#include "models/io/idx.h"
#include "models/preprocess.h"
#include "tensor/random.h"

namespace ha {

ClutteredFashion::ClutteredFashion(const std::string& dir, const std::string& split, uint64_t seed) : seed_(seed) {
  HATTN_CHECK(split == "train" || split == "test", "ClutteredFashion: split must be 'train' or 'test', got '", split, "'");
  const std::string prefix = dir + "/" + (split == "train" ? "train" : "t10k");
  images_ = load_idx(prefix + "-images-idx3-ubyte.gz");
  labels_ = load_idx(prefix + "-labels-idx1-ubyte.gz");
  HATTN_CHECK_INPUT(images_.dim() == 3 && images_.size(1) == kItem && images_.size(2) == kItem, "'", prefix,
                    "-images-idx3-ubyte.gz': expected 28×28 images, got ", shape_str(images_.shape()));
  HATTN_CHECK_INPUT(labels_.dim() == 1 && labels_.size(0) == images_.size(0), "'", prefix,
                    "-labels-idx1-ubyte.gz': ", labels_.numel(), " labels for ", images_.size(0), " images");
}

const std::vector<std::string>& ClutteredFashion::class_names() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

ClutteredSample ClutteredFashion::get(int64_t index, uint64_t epoch) const {
  HATTN_CHECK(index >= 0 && index < size(), "ClutteredFashion: index ", index, " out of range [0, ", size(), ")");
  Generator g(seed_ * 0x9E3779B97F4A7C15ULL ^ (epoch * 0xC2B2AE3D27D4EB4FULL) ^ (uint64_t(index) * 0x165667B19E3779F9ULL));
  const uint8_t* all = images_.data<uint8_t>();
  std::vector<uint8_t> canvas(kCanvas * kCanvas, 0);
  // distractors: 4 fragments (8..14 pixels square) of other items
  for (int k = 0; k < 4; ++k) {
    int64_t other = static_cast<int64_t>(g.next_u64() % size());
    if (other == index) other = (other + 1) % size();
    const int64_t s = 8 + static_cast<int64_t>(g.next_u64() % 7);
    const int64_t sy = 4 + static_cast<int64_t>(g.next_u64() % (kItem - 8 - s + 1));
    const int64_t sx = 4 + static_cast<int64_t>(g.next_u64() % (kItem - 8 - s + 1));
    const int64_t dy = static_cast<int64_t>(g.next_u64() % (kCanvas - s + 1));
    const int64_t dx = static_cast<int64_t>(g.next_u64() % (kCanvas - s + 1));
    const uint8_t* src = all + other * kItem * kItem;
    for (int64_t y = 0; y < s; ++y)
      for (int64_t x = 0; x < s; ++x) {
        uint8_t& c = canvas[(dy + y) * kCanvas + dx + x];
        c = std::max<uint8_t>(c, static_cast<uint8_t>(src[(sy + y) * kItem + sx + x] * 3 / 4));
      }
  }
  ClutteredSample out;
  out.label = labels_.data<uint8_t>()[index];
  out.mask.assign(kCanvas * kCanvas, 0);
  const int64_t ty = static_cast<int64_t>(g.next_u64() % (kCanvas - kItem + 1));
  const int64_t tx = static_cast<int64_t>(g.next_u64() % (kCanvas - kItem + 1));
  const bool flip = epoch > 0 && (g.next_u64() & 1);  // light augmentation while training
  const uint8_t* item = all + index * kItem * kItem;
  for (int64_t y = 0; y < kItem; ++y)
    for (int64_t x = 0; x < kItem; ++x) {
      const uint8_t v = item[y * kItem + (flip ? kItem - 1 - x : x)];
      if (v > 24) {  // the item's own pixels replace the clutter below them
        canvas[(ty + y) * kCanvas + tx + x] = v;
        out.mask[(ty + y) * kCanvas + tx + x] = 1;
      }
    }
  out.image.width = out.image.height = kCanvas;
  out.image.rgb.resize(kCanvas * kCanvas * 3);
  for (int64_t i = 0; i < kCanvas * kCanvas; ++i)
    out.image.rgb[i * 3] = out.image.rgb[i * 3 + 1] = out.image.rgb[i * 3 + 2] = canvas[i];
  return out;
}

void make_batch(const std::vector<ClutteredSample>& samples, Tensor& images, Tensor& labels) {
  const int64_t B = static_cast<int64_t>(samples.size()), S = ClutteredFashion::kCanvas;
  images = Tensor::empty({B, 3, S, S});
  labels = Tensor::empty({B}, DType::I64);
  for (int64_t b = 0; b < B; ++b) {
    Tensor one = normalize_image(samples[b].image);
    std::memcpy(images.data<float>() + b * 3 * S * S, one.data<float>(), 3 * S * S * sizeof(float));
    labels.data<int64_t>()[b] = samples[b].label;
  }
}

}  // namespace ha
