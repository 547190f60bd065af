#include "models/io/image.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "models/io/isolated.h"
#include "models/io/jpeg.h"
#include "models/io/read_file.h"
#include "models/io/reader_jobs.h"
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

}  // namespace

// Runs in the reader process (models/io/isolated.h): the decoders are not hardened against hostile files
// (fuzz_image found a SEGV in stb_image's JPEG Huffman decoder).
void image_reader_job(const std::vector<std::string>& args, IsolatedOutput& out) {
  const std::string& path = args.at(0);
  const std::string& decoder = args.at(1);
  const int64_t w = std::stoll(args.at(2)), h = std::stoll(args.at(3));
  const size_t nbytes = static_cast<size_t>(w) * h * 3;
  if (nbytes > out.capacity) out.fail("the image is larger than announced");
  if (decoder == "jpeg") {  // libjpeg-turbo as Pillow drives it (models/io/jpeg.h)
    const std::string bytes = read_whole_file(path, kMaxImagePixels * 8, "image");
    if (const char* why = jpeg::decode_rgb(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), w, h,
                                           out.data))
      out.fail(why);
    out.size = nbytes;
    return;
  }
  // Pillow opens 16-bit grey as a 32-bit integer image, whose conversion to RGB clips at 255; every other 16-bit
  // layout keeps the high byte, as stb_image's 8-bit conversion does.
  const bool grey16 = decoder == "stb-grey16";
  int cw = 0, ch = 0, cc = 0;
  void* data = grey16 ? static_cast<void*>(stbi_load_16(path.c_str(), &cw, &ch, &cc, 1))
                      : static_cast<void*>(stbi_load(path.c_str(), &cw, &ch, &cc, 3));
  if (!data) out.fail(stbi_failure_reason() ? stbi_failure_reason() : "unknown error");
  if (cw != w || ch != h) out.fail("the image's size changed while decoding");
  if (grey16) {
    const uint16_t* v = static_cast<const uint16_t*>(data);
    for (size_t i = 0; i < nbytes / 3; ++i) out.data[3 * i] = out.data[3 * i + 1] = out.data[3 * i + 2] = v[i] > 255 ? 255 : v[i];
  } else {
    std::memcpy(out.data, data, nbytes);
  }
  stbi_image_free(data);
  out.size = nbytes;
}

// The header is read here (stb_image's or our JPEG marker walk: no pixel decoding), the size checked, then the
// pixels are decoded in the reader process.
Image8 load_image(const std::string& path) {
  require_readable_file(path, "image");
  FILE* f = std::fopen(path.c_str(), "rb");
  HATTN_CHECK_INPUT(f != nullptr, "cannot open image '", path, "'");
  unsigned char magic[3] = {0, 0, 0};
  const size_t got = std::fread(magic, 1, 3, f);
  std::rewind(f);
  Image8 img;
  std::string decoder;
  if (jpeg::available() && jpeg::has_signature(magic, got)) {
    std::fclose(f);
    const jpeg::Header h = jpeg::read_header(path);
    img.width = h.width, img.height = h.height;
    decoder = "jpeg";
  } else {
    int w = 0, h = 0, comp = 0;
    const bool ok = stbi_info_from_file(f, &w, &h, &comp);
    const bool grey16 = ok && comp == 1 && stbi_is_16_bit_from_file(f);
    std::fclose(f);
    if (!ok) throw InputError(str("'", path, "' is not a readable image (", stbi_failure_reason(), ")"));
    img.width = w, img.height = h;
    decoder = grey16 ? "stb-grey16" : "stb";
  }
  check_size(path, img.width, img.height);
  const size_t nbytes = static_cast<size_t>(img.width) * img.height * 3;
  img.rgb = run_isolated(path, "decoded", nbytes, "image",
                         {path, decoder, std::to_string(img.width), std::to_string(img.height)});
  HATTN_CHECK_INPUT(img.rgb.size() == nbytes, "'", path, "': the decoder returned ", img.rgb.size(), " bytes, not ",
                    nbytes);
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
