#include "models/io/zip.h"

#include <algorithm>
#include <fstream>

#include "tensor/error.h"

namespace ha::zip {
namespace {

uint64_t le(const unsigned char* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

struct File {
  std::ifstream f;
  uint64_t size = 0;
  std::string path;

  explicit File(const std::string& p) : f(p, std::ios::binary | std::ios::ate), path(p) {
    HATTN_CHECK_INPUT(f.good(), "cannot open '", p, "'");
    size = static_cast<uint64_t>(f.tellg());
  }
  std::vector<unsigned char> read(uint64_t off, uint64_t n, const char* what) {
    HATTN_CHECK_INPUT(off <= size && n <= size - off, "'", path, "': truncated zip (", what, " at byte ", off, " + ", n,
                      " beyond the file's ", size, " bytes)");
    std::vector<unsigned char> buf(n);
    f.seekg(static_cast<std::streamoff>(off));
    f.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(n));
    HATTN_CHECK_INPUT(static_cast<uint64_t>(f.gcount()) == n, "'", path, "': read failed at byte ", off);
    return buf;
  }
};

}  // namespace

std::vector<Entry> read_index(const std::string& path) {
  File file(path);
  HATTN_CHECK_INPUT(file.size >= 22, "'", path, "': too small to be a zip archive");
  const uint64_t tail_len = std::min<uint64_t>(file.size, 22 + 65535);
  std::vector<unsigned char> tail = file.read(file.size - tail_len, tail_len, "end of central directory");
  int64_t eocd = -1;
  for (int64_t i = static_cast<int64_t>(tail_len) - 22; i >= 0; --i)
    if (le(&tail[i], 4) == 0x06054b50) {
      eocd = i;
      break;
    }
  HATTN_CHECK_INPUT(eocd >= 0, "'", path, "': not a zip archive (no end-of-central-directory record; truncated?)");
  const unsigned char* e = &tail[eocd];
  uint64_t count = le(e + 10, 2), cd_size = le(e + 12, 4), cd_offset = le(e + 16, 4);
  if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    const uint64_t eocd_abs = file.size - tail_len + eocd;
    HATTN_CHECK_INPUT(eocd_abs >= 20, "'", path, "': zip64 locator missing");
    std::vector<unsigned char> loc = file.read(eocd_abs - 20, 20, "zip64 locator");
    HATTN_CHECK_INPUT(le(loc.data(), 4) == 0x07064b50, "'", path, "': zip64 locator missing");
    std::vector<unsigned char> z = file.read(le(loc.data() + 8, 8), 56, "zip64 end record");
    HATTN_CHECK_INPUT(le(z.data(), 4) == 0x06064b50, "'", path, "': bad zip64 end record");
    count = le(z.data() + 32, 8);
    cd_size = le(z.data() + 40, 8);
    cd_offset = le(z.data() + 48, 8);
  }
  HATTN_CHECK_INPUT(count <= 1000000 && cd_size <= (256u << 20), "'", path, "': implausible central directory (", count,
                    " entries, ", cd_size, " bytes)");
  std::vector<unsigned char> cd = file.read(cd_offset, cd_size, "central directory");
  std::vector<Entry> entries;
  uint64_t p = 0;
  for (uint64_t k = 0; k < count; ++k) {
    HATTN_CHECK_INPUT(p + 46 <= cd.size() && le(&cd[p], 4) == 0x02014b50, "'", path, "': corrupt central directory entry ", k);
    const unsigned char* h = &cd[p];
    Entry en;
    en.method = static_cast<uint16_t>(le(h + 10, 2));
    uint64_t csize = le(h + 20, 4), usize = le(h + 24, 4), local = le(h + 42, 4);
    const uint64_t nlen = le(h + 28, 2), xlen = le(h + 30, 2), clen = le(h + 32, 2);
    HATTN_CHECK_INPUT(p + 46 + nlen + xlen + clen <= cd.size(), "'", path, "': corrupt central directory entry ", k);
    en.name.assign(reinterpret_cast<const char*>(h + 46), nlen);
    // zip64 extra field: the 64-bit values for whichever 32-bit fields are saturated, in this order
    for (uint64_t x = 0; x + 4 <= xlen;) {
      const unsigned char* xf = h + 46 + nlen + x;
      const uint64_t id = le(xf, 2), len = le(xf + 2, 2);
      HATTN_CHECK_INPUT(x + 4 + len <= xlen, "'", path, "': corrupt extra field in entry '", en.name, "'");
      if (id == 1) {
        uint64_t q = 4;
        auto take = [&](uint64_t& v) {
          if (v != 0xFFFFFFFF) return;
          HATTN_CHECK_INPUT(q + 8 <= 4 + len, "'", path, "': short zip64 field in entry '", en.name, "'");
          v = le(xf + q, 8);
          q += 8;
        };
        take(usize);
        take(csize);
        take(local);
      }
      x += 4 + len;
    }
    std::vector<unsigned char> lh = file.read(local, 30, "local header");
    HATTN_CHECK_INPUT(le(lh.data(), 4) == 0x04034b50, "'", path, "': bad local header for entry '", en.name, "'");
    en.data_offset = local + 30 + le(lh.data() + 26, 2) + le(lh.data() + 28, 2);
    en.size = csize;
    HATTN_CHECK_INPUT(en.data_offset <= file.size && en.size <= file.size - en.data_offset, "'", path, "': entry '",
                      en.name, "' extends past the end of the file (truncated?)");
    entries.push_back(std::move(en));
    p += 46 + nlen + xlen + clen;
  }
  return entries;
}

std::string read_entry(const std::string& path, const Entry& e, uint64_t max_bytes) {
  HATTN_CHECK_INPUT(e.method == 0, "'", path, "': entry '", e.name, "' is compressed (method ", e.method,
                    "); torch.save stores entries uncompressed");
  HATTN_CHECK_INPUT(e.size <= max_bytes, "'", path, "': entry '", e.name, "' is ", e.size, " bytes, over the ", max_bytes,
                    " limit");
  File file(path);
  std::vector<unsigned char> b = file.read(e.data_offset, e.size, e.name.c_str());
  return std::string(b.begin(), b.end());
}

}  // namespace ha::zip
