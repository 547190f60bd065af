#include "models/io/image.h"

#include <cstdio>

#include "tensor/error.h"

#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include <stb/stb_image.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

namespace ha {

Image8 load_image(const std::string& path) {
  require_readable_file(path, "image");
  FILE* f = std::fopen(path.c_str(), "rb");
  HATTN_CHECK(f != nullptr, "cannot open image '", path, "'");
  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_file(f, &w, &h, &comp)) {
    std::fclose(f);
    throw Error(str("'", path, "' is not a readable image (", stbi_failure_reason(), ")"));
  }
  if (static_cast<int64_t>(w) * h > kMaxImagePixels) {
    std::fclose(f);
    throw Error(str("'", path, "' is ", w, "x", h, " pixels, over the ", kMaxImagePixels / 1000000, "-megapixel limit"));
  }
  unsigned char* data = stbi_load_from_file(f, &w, &h, &comp, 3);
  std::fclose(f);
  HATTN_CHECK(data != nullptr, "'", path, "' could not be decoded (", stbi_failure_reason(), ")");
  Image8 img;
  img.width = w;
  img.height = h;
  img.rgb.assign(data, data + static_cast<size_t>(w) * h * 3);
  stbi_image_free(data);
  HATTN_CHECK(w > 0 && h > 0, "'", path, "' has no pixels");
  return img;
}

void save_png(const std::string& path, const Image8& img) {
  HATTN_CHECK(img.width > 0 && img.height > 0 && img.rgb.size() == size_t(img.width * img.height * 3),
              "save_png: malformed image for '", path, "'");
  const std::string tmp = path + ".tmp";
  HATTN_CHECK(stbi_write_png(tmp.c_str(), static_cast<int>(img.width), static_cast<int>(img.height), 3, img.rgb.data(),
                             static_cast<int>(img.width * 3)) != 0,
              "cannot write PNG '", tmp, "'");
  HATTN_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "cannot rename '", tmp, "' to '", path, "'");
}

}  // namespace ha
