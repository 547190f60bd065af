#include "models/io/jpeg.h"

#include <csetjmp>
#include <cstdio>
#include <fstream>

#include "tensor/error.h"

#ifdef HATTN_WITH_LIBJPEG
#include <jpeglib.h>
#include <jerror.h>
#endif

namespace ha::jpeg {

bool has_signature(const unsigned char* b, size_t n) { return n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF; }

Header read_header(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  HATTN_CHECK_INPUT(f.good(), "cannot open image '", path, "'");
  auto byte = [&]() -> int {
    const int c = f.get();
    HATTN_CHECK_INPUT(c != EOF, "'", path, "' is not a readable image (a JPEG that ends before its frame header)");
    return c;
  };
  auto u16 = [&] { const int hi = byte(); return (hi << 8) | byte(); };
  HATTN_CHECK_INPUT(byte() == 0xFF && byte() == 0xD8, "'", path, "' is not a JPEG file");
  while (true) {
    int m = byte();
    HATTN_CHECK_INPUT(m == 0xFF, "'", path, "' is not a readable image (a JPEG with bytes between its markers)");
    while (m == 0xFF) m = byte();  // fill bytes
    if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue;  // markers without a length
    HATTN_CHECK_INPUT(m != 0xD9 && m != 0xDA && m != 0x00, "'", path,
                      "' is not a readable image (a JPEG without a frame header before its data)");
    const int length = u16();
    HATTN_CHECK_INPUT(length >= 2, "'", path, "' is not a readable image (a JPEG marker of length ", length, ")");
    const bool frame = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;  // SOFn, not DHT/JPG/DAC
    if (!frame) {
      f.seekg(length - 2, std::ios::cur);
      continue;
    }
    HATTN_CHECK_INPUT(length >= 8, "'", path, "' is not a readable image (a JPEG frame header of ", length, " bytes)");
    Header h;
    h.precision = byte();
    h.height = u16();
    h.width = u16();
    h.components = byte();
    HATTN_CHECK_INPUT(h.precision == 8, "'", path, "' has ", h.precision, "-bit samples; only 8-bit JPEG is read (as Pillow)");
    HATTN_CHECK_INPUT(h.components == 1 || h.components == 3 || h.components == 4, "'", path, "' has ", h.components,
                      " components; a JPEG is read with 1 (grey), 3 (colour) or 4 (CMYK), as Pillow reads it");
    HATTN_CHECK_INPUT(h.width > 0 && h.height > 0, "'", path, "' has no pixels (or a height given later by a DNL "
                      "marker, which libjpeg does not read)");
    return h;
  }
}

#ifdef HATTN_WITH_LIBJPEG

bool available() { return true; }

namespace {

struct Errors {
  jpeg_error_mgr pub;  // first: libjpeg hands back a pointer to it
  std::jmp_buf jump;
  bool data_ended;  // libjpeg ran out of data and padded it (then it warns JWRN_JPEG_EOF)
  char message[JMSG_LENGTH_MAX];
};

void on_error(j_common_ptr c) {
  Errors* e = reinterpret_cast<Errors*>(c->err);
  c->err->format_message(c, e->message);
  std::longjmp(e->jump, 1);
}

// Warnings (corrupt data that libjpeg recovers from) are ignored, as Pillow ignores them; only the end of the
// data is remembered: Pillow's suspending reader refuses a file whose data end before the last scanline.
void on_message(j_common_ptr c, int level) {
  if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF) reinterpret_cast<Errors*>(c->err)->data_ended = true;
}

// Pillow's MULDIV255: a·b/255 rounded, in integers.
inline int muldiv255(int a, int b) {
  const int t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

inline unsigned char clip8(int v) { return static_cast<unsigned char>(v < 0 ? 0 : v > 255 ? 255 : v); }

}  // namespace

const char* decode_rgb(const unsigned char* data, size_t size, int64_t width, int64_t height, unsigned char* rgb) {
  // Static: nothing the decoder touches lives in this frame when libjpeg longjmps back into it.
  static jpeg_decompress_struct cinfo;
  static Errors errors;
  static char reason[JMSG_LENGTH_MAX + 64];
  cinfo.err = jpeg_std_error(&errors.pub);
  errors.pub.error_exit = on_error;
  errors.pub.emit_message = on_message;
  errors.data_ended = false;
  if (setjmp(errors.jump)) {
    std::snprintf(reason, sizeof reason, "libjpeg: %s", errors.message);
    jpeg_destroy_decompress(&cinfo);
    return reason;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  const char* refusal = nullptr;
  if (static_cast<int64_t>(cinfo.image_width) != width || static_cast<int64_t>(cinfo.image_height) != height)
    refusal = "the frame header differs from the one read before decoding";
  else if (cinfo.num_components == 1)
    cinfo.out_color_space = JCS_GRAYSCALE;
  else if (cinfo.num_components == 3)
    cinfo.out_color_space = JCS_RGB;
  else if (cinfo.num_components == 4)
    cinfo.out_color_space = JCS_CMYK;  // libjpeg turns YCCK into CMYK
  else
    refusal = "unsupported number of components";
  if (refusal) {
    jpeg_destroy_decompress(&cinfo);
    return refusal;
  }
  cinfo.dct_method = JDCT_ISLOW;      // libjpeg's default, which Pillow keeps (it changes it only in draft mode)
  cinfo.do_fancy_upsampling = TRUE;   // likewise
  jpeg_start_decompress(&cinfo);      // a progressive file is read whole here
  const int n = cinfo.output_components;
  JSAMPARRAY row = (*cinfo.mem->alloc_sarray)(reinterpret_cast<j_common_ptr>(&cinfo), JPOOL_IMAGE,
                                              cinfo.output_width * n, 1);
  while (cinfo.output_scanline < cinfo.output_height && !errors.data_ended) {
    unsigned char* out = rgb + static_cast<size_t>(cinfo.output_scanline) * width * 3;
    jpeg_read_scanlines(&cinfo, row, 1);
    const unsigned char* in = row[0];
    for (int64_t x = 0; x < width; ++x, in += n, out += 3) {
      if (n == 1) {
        out[0] = out[1] = out[2] = in[0];
      } else if (n == 3) {
        out[0] = in[0], out[1] = in[1], out[2] = in[2];
      } else {  // Adobe-inverted CMYK ("CMYK;I"), then Pillow's cmyk2rgb
        const int k = 255 - in[3], nk = 255 - k;
        for (int c = 0; c < 3; ++c) out[c] = clip8(nk - muldiv255(255 - in[c], nk));
      }
    }
  }
  if (errors.data_ended) {  // before the last scanline was complete
    jpeg_destroy_decompress(&cinfo);
    return "image file is truncated";
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return nullptr;
}

#else

bool available() { return false; }

const char* decode_rgb(const unsigned char*, size_t, int64_t, int64_t, unsigned char*) {
  return "this build has no libjpeg";
}

#endif

}  // namespace ha::jpeg
