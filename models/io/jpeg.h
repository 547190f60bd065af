// JPEG decoded as Pillow decodes it (Image.open(f).convert("RGB"), what every PyTorch pipeline feeds a model):
// libjpeg-turbo with its defaults as Pillow leaves them (the ISLOW integer IDCT, fancy upsampling), warnings
// ignored, data that ends before the last scanline refused ("truncated", as Pillow refuses it), one component
// replicated to grey RGB, four components read as Adobe-inverted CMYK (Pillow assumes Adobe's convention for every
// CMYK JPEG; libjpeg turns YCCK into CMYK) and converted with Pillow's cmyk2rgb. EXIF orientation is ignored, as
// Image.open ignores it. Goldens from Debian's Pillow and a PyPI wheel: scripts/make_jpeg_goldens.py.
#pragma once
#include <cstdint>
#include <string>

namespace ha::jpeg {

// Whether this build decodes JPEG with libjpeg (Debian's libjpeg62-turbo-dev); without it, stb_image decodes
// JPEG (different pixels: its IDCT and upsampling are not libjpeg's).
bool available();

bool has_signature(const unsigned char* first_bytes, size_t n);  // FF D8 FF

struct Header {
  int64_t width = 0, height = 0;
  int components = 0, precision = 0;
};
// The frame header (SOFn), found by walking the markers without decoding anything: sizes are known and checked
// before any decoder runs. Throws InputError naming `path` for a file that is not a well-formed JPEG up to there.
Header read_header(const std::string& path);

// Decodes `size` bytes of a JPEG file into `rgb` (width · height · 3 bytes, the header's size). Meant for the
// isolated child (models/io/isolated.h): libjpeg's errors return here by longjmp, so the function holds no object
// with a destructor across the decoder's calls. Returns nullptr on success, else the reason (static storage).
const char* decode_rgb(const unsigned char* data, size_t size, int64_t width, int64_t height, unsigned char* rgb);

}  // namespace ha::jpeg
