// 8-bit RGB images: JPEG decoded with libjpeg-turbo as Pillow decodes it (models/io/jpeg.h), other formats
// (PNG/BMP/...; grayscale, alpha, 16-bit become 8-bit RGB) with stb_image; PNG writing with stb_image_write.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ha {

struct Image8 {
  int64_t width = 0, height = 0;
  std::vector<uint8_t> rgb;  // row-major, 3 bytes per pixel
  uint8_t* pixel(int64_t x, int64_t y) { return rgb.data() + (y * width + x) * 3; }
  const uint8_t* pixel(int64_t x, int64_t y) const { return rgb.data() + (y * width + x) * 3; }
};

constexpr int64_t kMaxImagePixels = 64LL * 1000 * 1000;  // refused by the header, before decoding

Image8 load_image(const std::string& path);               // errors name the file and the problem
void save_png(const std::string& path, const Image8& img);  // atomic: temporary name, then rename

}  // namespace ha
