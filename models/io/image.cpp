#include "models/io/image.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "models/io/isolated.h"
#include "models/io/jpeg.h"
#include "models/io/read_file.h"
#include "tensor/atomic_write.h"
#include "tensor/error.h"

#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include <stb/stb_image.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

namespace ha {

namespace {

void check_size(const std::string& path, int64_t w, int64_t h) {
  HATTN_CHECK_INPUT(w > 0 && h > 0, "'", path, "' has no pixels");
  HATTN_CHECK_INPUT(w * h <= kMaxImagePixels, "'", path, "' is ", w, "x", h, " pixels, over the ",
                    kMaxImagePixels / 1000000, "-megapixel limit");
}

// JPEG through libjpeg-turbo as Pillow drives it (models/io/jpeg.h), in the isolated child.
Image8 load_jpeg(const std::string& path) {
  const jpeg::Header h = jpeg::read_header(path);
  check_size(path, h.width, h.height);
  const size_t nbytes = static_cast<size_t>(h.width) * h.height * 3;
  Image8 img;
  img.width = h.width;
  img.height = h.height;
  img.rgb = run_isolated(path, "decoded", nbytes, [&](IsolatedOutput& out) {
    const std::string bytes = read_whole_file(path, kMaxImagePixels * 8, "image");
    const char* why = jpeg::decode_rgb(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), h.width,
                                       h.height, out.data);
    if (why) out.fail(why);
    out.size = nbytes;
  });
  return img;
}

}  // namespace

// Decoding runs in a forked child process (models/io/isolated.h): stb_image has known crashes on malformed files
// (fuzz_image found a SEGV in its JPEG Huffman decoder), libjpeg is not hardened either, and a research tool must
// answer untrusted input with an error, never a crash. The child writes the pixels into shared memory sized from
// the (already validated) header.
Image8 load_image(const std::string& path) {
  require_readable_file(path, "image");
  FILE* f = std::fopen(path.c_str(), "rb");
  HATTN_CHECK_INPUT(f != nullptr, "cannot open image '", path, "'");
  unsigned char magic[3] = {0, 0, 0};
  const size_t got = std::fread(magic, 1, 3, f);
  if (jpeg::available() && jpeg::has_signature(magic, got)) {
    std::fclose(f);
    return load_jpeg(path);
  }
  std::rewind(f);
  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_file(f, &w, &h, &comp)) {
    std::fclose(f);
    throw InputError(str("'", path, "' is not a readable image (", stbi_failure_reason(), ")"));
  }
  try {
    check_size(path, w, h);
  } catch (...) {
    std::fclose(f);
    throw;
  }
  // Pillow opens 16-bit grey as a 32-bit integer image, whose conversion to RGB clips at 255; every other 16-bit
  // layout keeps the high byte, as stb_image's 8-bit conversion does.
  const bool grey16 = comp == 1 && stbi_is_16_bit_from_file(f);
  std::rewind(f);
  const size_t nbytes = static_cast<size_t>(w) * h * 3;
  std::vector<uint8_t> pixels;
  try {
    pixels = run_isolated(path, "decoded", nbytes, [&](IsolatedOutput& out) {
      int cw = 0, ch = 0, cc = 0;
      void* data = grey16 ? static_cast<void*>(stbi_load_from_file_16(f, &cw, &ch, &cc, 1))
                          : static_cast<void*>(stbi_load_from_file(f, &cw, &ch, &cc, 3));
      if (!data) out.fail(stbi_failure_reason() ? stbi_failure_reason() : "unknown error");
      if (cw != w || ch != h) out.fail("the image's size changed while decoding");
      if (grey16) {
        const uint16_t* v = static_cast<const uint16_t*>(data);
        for (size_t i = 0; i < nbytes / 3; ++i) out.data[3 * i] = out.data[3 * i + 1] = out.data[3 * i + 2] = v[i] > 255 ? 255 : v[i];
      } else {
        std::memcpy(out.data, data, nbytes);
      }
      out.size = nbytes;
    });
  } catch (...) {
    std::fclose(f);
    throw;
  }
  std::fclose(f);
  Image8 img;
  img.width = w;
  img.height = h;
  img.rgb = std::move(pixels);
  return img;
}

void save_png(const std::string& path, const Image8& img) {
  HATTN_CHECK(img.width > 0 && img.height > 0 && img.rgb.size() == size_t(img.width * img.height * 3),
              "save_png: malformed image for '", path, "'");
  auto to_stream = [](void* stream, void* data, int n) {
    static_cast<std::ostream*>(stream)->write(static_cast<const char*>(data), n);
  };
  write_file_atomically(path, [&](std::ostream& f) {
    HATTN_CHECK(stbi_write_png_to_func(to_stream, &f, static_cast<int>(img.width), static_cast<int>(img.height), 3,
                                       img.rgb.data(), static_cast<int>(img.width * 3)) != 0,
                "save_png: the PNG encoder failed for '", path, "'");
  });
}

}  // namespace ha
