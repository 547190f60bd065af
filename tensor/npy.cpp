#include "tensor/npy.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "tensor/atomic_write.h"

namespace ha {

static const char kMagic[] = "\x93NUMPY";

static const char* descr_of(DType t) {
  switch (t) {
    case DType::F32: return "<f4";
    case DType::F64: return "<f8";
    case DType::I64: return "<i8";
    case DType::I32: return "<i4";
    case DType::U8: return "|u1";
  }
  return "";
}

// Magic, version and the header dict of an array, padded so that the data starts at a multiple of 64.
static void write_npy_header(std::ostream& f, const Shape& shape, DType dtype) {
  std::string dims;
  for (size_t i = 0; i < shape.size(); ++i) dims += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) dims += ",";  // Python's one-element tuple
  std::string header =
      "{'descr': '" + std::string(descr_of(dtype)) + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  // total header (magic 6 + version 2 + len 2 + text + '\n') padded to a multiple of 64
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  f.write(kMagic, 6);
  const char version[2] = {1, 0};
  f.write(version, 2);
  uint16_t len = static_cast<uint16_t>(header.size());
  const unsigned char le[2] = {static_cast<unsigned char>(len & 0xff), static_cast<unsigned char>(len >> 8)};
  f.write(reinterpret_cast<const char*>(le), 2);
  f.write(header.data(), header.size());
}

void save_npy(const std::string& path, const Tensor& t) {
  Tensor c = raw::contiguous(raw::to_device(t, Device::cpu()));
  write_file_atomically(path, [&](std::ostream& f) {
    write_npy_header(f, c.shape(), c.dtype());
    f.write(static_cast<const char*>(c.raw_data()), c.numel() * dtype_size(c.dtype()));
  });
}

void save_npy_streamed(const std::string& path, const Shape& shape, DType dtype,
                       const std::function<void(const std::function<void(const Tensor&)>& emit)>& produce) {
  HATTN_CHECK(!shape.empty(), "save_npy_streamed: '", path, "': a 0-d array has no slices");
  const Shape row(shape.begin() + 1, shape.end());
  write_file_atomically(path, [&](std::ostream& f) {
    write_npy_header(f, shape, dtype);
    int64_t rows = 0;
    produce([&](const Tensor& slice) {
      Tensor c = raw::contiguous(raw::to_device(slice, Device::cpu()));
      HATTN_CHECK(c.dtype() == dtype && c.dim() == static_cast<int64_t>(shape.size()) &&
                      Shape(c.shape().begin() + 1, c.shape().end()) == row && rows + c.size(0) <= shape[0],
                  "save_npy_streamed: '", path, "': a slice of ", describe(c), " does not continue ", shape_str(shape));
      f.write(static_cast<const char*>(c.raw_data()), c.numel() * dtype_size(c.dtype()));
      rows += c.size(0);
    });
    HATTN_CHECK(rows == shape[0], "save_npy_streamed: '", path, "': ", rows, " of ", shape[0], " rows were produced");
  });
}

// Value of `key` in the header dict, as the raw text up to the next top-level ',' or '}'.
static std::string dict_value(const std::string& h, const std::string& key, const std::string& path) {
  size_t k = h.find("'" + key + "'");
  HATTN_CHECK_INPUT(k != std::string::npos, "load_npy: '", path, "': header has no '", key, "' field");
  size_t colon = h.find(':', k);
  HATTN_CHECK_INPUT(colon != std::string::npos, "load_npy: '", path, "': malformed header");
  size_t b = colon + 1;
  while (b < h.size() && h[b] == ' ') ++b;
  size_t e = b;
  int depth = 0;
  for (; e < h.size(); ++e) {
    if (h[e] == '(') ++depth;
    if (h[e] == ')') --depth;
    if (depth == 0 && (h[e] == ',' || h[e] == '}')) break;
  }
  if (e < h.size() && h[b] == '(') e = h.find(')', b) + 1;
  return h.substr(b, e - b);
}

Tensor load_npy(const std::string& path) {
  require_readable_file(path, ".npy file");
  std::ifstream f(path, std::ios::binary);
  HATTN_CHECK_INPUT(f.good(), "load_npy: cannot open '", path, "'");
  char magic[6];
  f.read(magic, 6);
  HATTN_CHECK_INPUT(f.gcount() == 6 && std::memcmp(magic, kMagic, 6) == 0, "load_npy: '", path,
                    "' is not a .npy file (bad magic)");
  unsigned char ver[2];
  f.read(reinterpret_cast<char*>(ver), 2);
  HATTN_CHECK_INPUT(f.good() && ver[0] >= 1 && ver[0] <= 3, "load_npy: '", path, "': unsupported format version ",
                    int(ver[0]));
  uint32_t hlen = 0;
  if (ver[0] == 1) {
    unsigned char b[2];
    f.read(reinterpret_cast<char*>(b), 2);
    hlen = b[0] | (b[1] << 8);
  } else {
    unsigned char b[4];
    f.read(reinterpret_cast<char*>(b), 4);
    hlen = b[0] | (b[1] << 8) | (b[2] << 16) | (uint32_t(b[3]) << 24);
  }
  HATTN_CHECK_INPUT(f.good() && hlen < (1u << 20), "load_npy: '", path, "': truncated or oversized header");
  std::string h(hlen, '\0');
  f.read(h.data(), hlen);
  HATTN_CHECK_INPUT(static_cast<uint32_t>(f.gcount()) == hlen, "load_npy: '", path, "': truncated header");

  std::string descr = dict_value(h, "descr", path);
  DType dtype;
  if (descr == "'<f4'") dtype = DType::F32;
  else if (descr == "'<f8'") dtype = DType::F64;
  else if (descr == "'<i8'") dtype = DType::I64;
  else if (descr == "'<i4'") dtype = DType::I32;
  else if (descr == "'|u1'" || descr == "'<u1'") dtype = DType::U8;
  else throw InputError(str("load_npy: '", path, "': unsupported dtype ", descr,
                       " (supported: <f4 <f8 <i8 <i4 |u1, little-endian)"));
  bool fortran = dict_value(h, "fortran_order", path) == "True";
  std::string shape_text = dict_value(h, "shape", path);
  HATTN_CHECK_INPUT(shape_text.size() >= 2 && shape_text.front() == '(' && shape_text.back() == ')', "load_npy: '", path,
                    "': malformed shape ", shape_text);
  Shape shape;
  std::string num;
  for (size_t i = 1; i < shape_text.size(); ++i) {
    char c = shape_text[i];
    if (c >= '0' && c <= '9') {
      num += c;
    } else if (c == ',' || c == ')') {
      HATTN_CHECK_INPUT(num.size() <= 15, "load_npy: '", path, "': implausible dimension in shape ", shape_text);
      if (!num.empty()) shape.push_back(std::stoll(num));
      num.clear();
    } else {
      HATTN_CHECK_INPUT(c == ' ' || c == 'L', "load_npy: '", path, "': malformed shape ", shape_text);
    }
  }
  // Never allocate more than the file can hold: the element count, overflow-checked, against its size.
  uint64_t count = 1;
  for (int64_t d : shape)
    HATTN_CHECK_INPUT(!__builtin_mul_overflow(count, static_cast<uint64_t>(d), &count) && count < (uint64_t(1) << 40),
                      "load_npy: '", path, "': implausible shape ", shape_str(shape));
  {
    const std::streampos here = f.tellg();
    f.seekg(0, std::ios::end);
    const uint64_t remaining = static_cast<uint64_t>(f.tellg() - here);
    f.seekg(here);
    HATTN_CHECK_INPUT(count * dtype_size(dtype) <= remaining, "load_npy: '", path, "': truncated data: shape ",
                      shape_str(shape), " needs ", count * dtype_size(dtype), " bytes, the file has ", remaining);
  }

  Shape stored = shape;
  if (fortran) std::reverse(stored.begin(), stored.end());
  Tensor t = Tensor::empty(stored, dtype);
  size_t nbytes = t.numel() * dtype_size(dtype);
  f.read(static_cast<char*>(t.raw_data()), nbytes);
  HATTN_CHECK_INPUT(static_cast<size_t>(f.gcount()) == nbytes, "load_npy: '", path, "': truncated data: expected ",
                    nbytes, " bytes for ", dtype_name(dtype), shape_str(shape), ", got ", f.gcount());
  if (!fortran) return t;
  Shape rev(stored.size());
  for (size_t i = 0; i < rev.size(); ++i) rev[i] = static_cast<int64_t>(rev.size() - 1 - i);
  return raw::contiguous(raw::permute(t, rev));
}

}  // namespace ha
