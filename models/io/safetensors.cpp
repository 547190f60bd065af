// .safetensors: 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}},
// "__metadata__": {str: str}}, then the raw little-endian data; offsets are relative to the data start.
#include <cstdio>
#include <cstring>
#include <fstream>

#include "models/io/checkpoint.h"
#include "models/io/json.h"
#include "tensor/atomic_write.h"

namespace ha {

static StoredType parse_type(const std::string& s, const std::string& where) {
  static const std::map<std::string, StoredType> types = {
      {"F32", StoredType::F32}, {"F64", StoredType::F64}, {"F16", StoredType::F16}, {"BF16", StoredType::BF16},
      {"I64", StoredType::I64}, {"I32", StoredType::I32}, {"I16", StoredType::I16}, {"I8", StoredType::I8},
      {"U8", StoredType::U8},   {"BOOL", StoredType::Bool}};
  auto it = types.find(s);
  HATTN_CHECK_INPUT(it != types.end(), where, ": unsupported dtype '", s, "'");
  return it->second;
}

Checkpoint open_safetensors(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  HATTN_CHECK_INPUT(f.good(), "cannot open '", path, "'");
  Checkpoint c;
  c.path_ = path;
  c.format_ = "safetensors";
  c.file_size_ = static_cast<uint64_t>(f.tellg());
  f.seekg(0);
  unsigned char len_bytes[8];
  f.read(reinterpret_cast<char*>(len_bytes), 8);
  HATTN_CHECK_INPUT(f.gcount() == 8, "'", path, "': truncated safetensors header length");
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; --i) hlen = (hlen << 8) | len_bytes[i];
  HATTN_CHECK_INPUT(hlen <= 100u << 20 && hlen <= c.file_size_ - 8, "'", path, "': header length ", hlen,
                    " exceeds the file (", c.file_size_, " bytes) or 100 MB");
  std::string header(hlen, '\0');
  f.read(header.data(), static_cast<std::streamsize>(hlen));
  HATTN_CHECK_INPUT(static_cast<uint64_t>(f.gcount()) == hlen, "'", path, "': truncated header");
  json::Value root = json::parse(header, "'" + path + "' header");
  HATTN_CHECK_INPUT(root.kind == json::Value::Kind::Object, "'", path, "': header is not a JSON object");
  const uint64_t data_start = 8 + hlen;
  for (const auto& [name, v] : root.members) {
    if (name == "__metadata__") {
      HATTN_CHECK_INPUT(v.kind == json::Value::Kind::Object, "'", path, "': __metadata__ is not an object");
      for (const auto& [k, m] : v.members) {
        HATTN_CHECK_INPUT(m.kind == json::Value::Kind::String, "'", path, "': metadata '", k, "' is not a string");
        c.metadata_[k] = m.text;
        c.extras_.emplace_back("metadata." + k, m.text.size() > 200 ? m.text.substr(0, 200) + "..." : m.text);
      }
      continue;
    }
    const std::string where = str("'", path, "': tensor '", name, "'");
    const json::Value* dt = v.find("dtype");
    const json::Value* shape = v.find("shape");
    const json::Value* offs = v.find("data_offsets");
    HATTN_CHECK_INPUT(v.kind == json::Value::Kind::Object && dt && shape && offs && dt->kind == json::Value::Kind::String &&
                    shape->kind == json::Value::Kind::Array && offs->kind == json::Value::Kind::Array &&
                    offs->items.size() == 2,
                      where, ": needs dtype, shape and data_offsets [begin, end]");
    TensorRecord r;
    r.name = name;
    r.type = parse_type(dt->text, where);
    for (const json::Value& d : shape->items) r.shape.push_back(d.as_int());
    r.strides = contiguous_strides(r.shape);
    const int64_t b = offs->items[0].as_int(), e = offs->items[1].as_int();
    HATTN_CHECK_INPUT(b <= e, where, ": data_offsets [", b, ", ", e, "] are reversed");
    uint64_t count = 1;
    for (int64_t d : r.shape) HATTN_CHECK_INPUT(!__builtin_mul_overflow(count, uint64_t(d), &count), where, ": shape overflows");
    HATTN_CHECK_INPUT(count * stored_type_size(r.type) == uint64_t(e - b), where, ": ", e - b, " bytes for shape ",
                      shape_str(r.shape), " of ", stored_type_name(r.type));
    r.file_offset = data_start + b;
    r.storage_bytes = e - b;
    c.add_record(std::move(r));
  }
  return c;
}

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      header += (first ? "" : ",") + json::quote(k) + ":" + json::quote(v);
      first = false;
    }
    header += "},";
  }
  uint64_t offset = 0;
  std::vector<Tensor> bodies;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, t] = tensors[i];
    Tensor c = raw::contiguous(raw::to_device(t, Device::cpu()));
    const char* dt = nullptr;
    switch (c.dtype()) {
      case DType::F32: dt = "F32"; break;
      case DType::F64: dt = "F64"; break;
      case DType::I64: dt = "I64"; break;
      case DType::I32: dt = "I32"; break;
      case DType::U8: dt = "U8"; break;
    }
    const uint64_t nbytes = c.numel() * dtype_size(c.dtype());
    std::string shape;
    for (int64_t d = 0; d < c.dim(); ++d) shape += (d ? "," : "") + std::to_string(c.shape()[d]);
    header += json::quote(name) + ":{\"dtype\":\"" + dt + "\",\"shape\":[" + shape + "],\"data_offsets\":[" +
              std::to_string(offset) + "," + std::to_string(offset + nbytes) + "]}";
    header += i + 1 < tensors.size() ? "," : "";
    offset += nbytes;
    bodies.push_back(c);
  }
  if (header.back() == ',') header.pop_back();
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');  // keep the data 8-byte aligned
  write_file_atomically(path, [&](std::ostream& f) {
    uint64_t n = header.size();
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
    f.write(reinterpret_cast<const char*>(len), 8);
    f.write(header.data(), static_cast<std::streamsize>(header.size()));
    for (const Tensor& b : bodies)
      f.write(static_cast<const char*>(b.raw_data()), static_cast<std::streamsize>(b.numel() * dtype_size(b.dtype())));
  });
}

}  // namespace ha
