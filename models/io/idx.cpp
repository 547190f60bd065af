#include "models/io/idx.h"

#ifdef HATTN_WITH_ZLIB
#include <zlib.h>
#endif
#include <fstream>

#include <cstring>
#include <vector>

namespace ha {

static std::string read_maybe_gzip(const std::string& path) {
#ifndef HATTN_WITH_ZLIB
  std::ifstream in(path, std::ios::binary);
  HATTN_CHECK_INPUT(in.good(), "cannot open '", path, "'");
  std::string raw((std::istreambuf_iterator<char>(in)), {});
  HATTN_CHECK_INPUT(raw.size() < 2 || static_cast<unsigned char>(raw[0]) != 0x1f || static_cast<unsigned char>(raw[1]) != 0x8b,
                    "'", path, "' is gzip-compressed but this build has no zlib (install zlib1g-dev and rebuild)");
  return raw;
#else
  gzFile f = gzopen(path.c_str(), "rb");  // also reads uncompressed files transparently
  HATTN_CHECK_INPUT(f != nullptr, "cannot open '", path, "'");
  std::string out;
  std::vector<char> buf(1 << 16);
  for (;;) {
    const int n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      int err = 0;
      std::string msg = gzerror(f, &err);
      gzclose(f);
      throw InputError(str("'", path, "': corrupt gzip data (", msg, ")"));
    }
    if (n == 0) break;
    out.append(buf.data(), n);
    HATTN_CHECK_INPUT(out.size() < (size_t(1) << 32), "'", path, "': larger than 4 GB uncompressed");
  }
  gzclose(f);
  return out;
#endif
}

Tensor load_idx(const std::string& path) {
  require_readable_file(path, "IDX file");
  const std::string d = read_maybe_gzip(path);
  HATTN_CHECK_INPUT(d.size() >= 4 && d[0] == 0 && d[1] == 0, "'", path, "': not an IDX file (bad magic)");
  HATTN_CHECK_INPUT(static_cast<unsigned char>(d[2]) == 0x08, "'", path, "': IDX data type 0x", std::hex,
                    int(static_cast<unsigned char>(d[2])), std::dec, " is not unsigned bytes");
  const int rank = static_cast<unsigned char>(d[3]);
  HATTN_CHECK_INPUT(rank >= 1 && rank <= 4 && d.size() >= 4 + 4 * size_t(rank), "'", path, "': bad IDX rank ", rank);
  Shape shape;
  for (int k = 0; k < rank; ++k) {
    const auto* p = reinterpret_cast<const unsigned char*>(d.data() + 4 + 4 * k);
    shape.push_back((int64_t(p[0]) << 24) | (p[1] << 16) | (p[2] << 8) | p[3]);
  }
  const size_t header = 4 + 4 * size_t(rank);
  uint64_t count = 1;  // overflow-checked: a lying header must not wrap around
  for (int64_t s : shape)
    HATTN_CHECK_INPUT(!__builtin_mul_overflow(count, static_cast<uint64_t>(s), &count), "'", path, "': IDX shape ",
                      shape_str(shape), " overflows");
  HATTN_CHECK_INPUT(d.size() - header == count, "'", path, "': IDX shape ", shape_str(shape), " needs ",
                    count, " bytes of data, the file has ", d.size() - header);
  // an empty tensor is refused too when its other dims multiply past what strides can address
  HATTN_CHECK_INPUT(shape_fits(shape), "'", path, "': IDX shape ", shape_str(shape), " is too large for a tensor");
  Tensor t = Tensor::empty(shape, DType::U8);
  std::memcpy(t.raw_data(), d.data() + header, d.size() - header);
  return t;
}

}  // namespace ha
