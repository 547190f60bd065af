#include "models/io/checkpoint.h"

#include <algorithm>
#include <cstring>
#include <fstream>

namespace ha {

const char* stored_type_name(StoredType t) {
  switch (t) {
    case StoredType::F32: return "F32";
    case StoredType::F64: return "F64";
    case StoredType::F16: return "F16";
    case StoredType::BF16: return "BF16";
    case StoredType::I64: return "I64";
    case StoredType::I32: return "I32";
    case StoredType::I16: return "I16";
    case StoredType::I8: return "I8";
    case StoredType::U8: return "U8";
    case StoredType::Bool: return "BOOL";
  }
  return "?";
}

size_t stored_type_size(StoredType t) {
  switch (t) {
    case StoredType::F64: case StoredType::I64: return 8;
    case StoredType::F32: case StoredType::I32: return 4;
    case StoredType::F16: case StoredType::BF16: case StoredType::I16: return 2;
    default: return 1;
  }
}

static bool mul_overflows(uint64_t a, uint64_t b, uint64_t& out) { return __builtin_mul_overflow(a, b, &out); }

void Checkpoint::add_record(TensorRecord r) {
  const std::string where = str("'", path_, "': tensor '", r.name, "'");
  HATTN_CHECK_INPUT(r.shape.size() == r.strides.size() && r.shape.size() <= 16, where, ": bad rank ", r.shape.size());
  HATTN_CHECK_INPUT(r.element_offset >= 0, where, ": negative storage offset");
  // highest element index touched, with overflow checks
  uint64_t extent = static_cast<uint64_t>(r.element_offset), count = 1;
  bool empty = false;
  for (size_t d = 0; d < r.shape.size(); ++d) {
    HATTN_CHECK_INPUT(r.shape[d] >= 0 && r.strides[d] >= 0, where, ": negative size or stride in shape ",
                      shape_str(r.shape));
    if (r.shape[d] == 0) empty = true;
    uint64_t span;
    HATTN_CHECK_INPUT(!mul_overflows(static_cast<uint64_t>(r.shape[d] ? r.shape[d] - 1 : 0), r.strides[d], span) &&
                    !__builtin_add_overflow(extent, span, &extent) &&
                    !mul_overflows(count, static_cast<uint64_t>(r.shape[d]), count) && count < (uint64_t(1) << 40),
                      where, ": shape ", shape_str(r.shape), " overflows");
  }
  uint64_t need = 0;
  if (!empty) {
    HATTN_CHECK_INPUT(!mul_overflows(extent + 1, stored_type_size(r.type), need), where, ": extent overflows");
    HATTN_CHECK_INPUT(need <= r.storage_bytes, where, " of shape ", shape_str(r.shape), " needs ", need,
                      " bytes but its storage holds ", r.storage_bytes);
  }
  HATTN_CHECK_INPUT(r.file_offset <= file_size_ && r.storage_bytes <= file_size_ - r.file_offset, where,
                    ": data lies outside the file (offset ", r.file_offset, " + ", r.storage_bytes, " > ", file_size_, ")");
  HATTN_CHECK_INPUT(index_.count(r.name) == 0, where, ": appears twice");
  index_[r.name] = records_.size();
  records_.push_back(std::move(r));
}

Checkpoint Checkpoint::merge(const std::string& name, std::vector<Checkpoint> parts) {
  HATTN_CHECK(!parts.empty(), "Checkpoint::merge: no parts");
  Checkpoint all;
  all.path_ = name;
  all.format_ = str(parts[0].format_, " (", parts.size(), " files)");
  for (Checkpoint& part : parts) {
    all.file_size_ = std::max(all.file_size_, part.file_size_);
    for (TensorRecord& r : part.records_) {
      if (r.file.empty()) r.file = part.path_;
      auto seen = all.index_.find(r.name);
      HATTN_CHECK_INPUT(seen == all.index_.end(), "'", name, "': tensor '", r.name, "' is in both '",
                        all.records_[seen == all.index_.end() ? 0 : seen->second].file, "' and '", r.file, "'");
      all.index_[r.name] = all.records_.size();
      all.records_.push_back(std::move(r));
    }
    for (auto& e : part.extras_) all.extras_.push_back(std::move(e));
    for (auto& [k, v] : part.metadata_) all.metadata_.emplace(k, v);
  }
  return all;
}

void Checkpoint::rename(const std::string& from, const std::string& to) {
  auto it = index_.find(from);
  if (it == index_.end()) return;
  HATTN_CHECK_INPUT(index_.count(to) == 0, "'", path_, "': holds both '", from, "' and '", to, "'");
  const size_t i = it->second;
  index_.erase(it);
  index_[to] = i;
  records_[i].name = to;
}

const TensorRecord* Checkpoint::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &records_[it->second];
}

static float half_to_float(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {  // subnormal
      int e = -1;
      uint32_t m = man;
      do {
        ++e;
        m <<= 1;
      } while ((m & 0x400) == 0);
      bits = sign | ((127 - 15 - e) << 23) | ((m & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (man << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

Tensor Checkpoint::load(const std::string& name) const {
  const TensorRecord* r = find(name);
  HATTN_CHECK_INPUT(r != nullptr, "'", path_, "': no tensor named '", name, "'");
  const size_t es = stored_type_size(r->type);
  // read the touched byte range [element_offset, extent] of the storage
  int64_t extent = r->element_offset;
  bool empty = false;
  for (size_t d = 0; d < r->shape.size(); ++d) {
    if (r->shape[d] == 0) empty = true;
    extent += (r->shape[d] ? r->shape[d] - 1 : 0) * r->strides[d];
  }
  const bool floating = r->type == StoredType::F32 || r->type == StoredType::F64 || r->type == StoredType::F16 ||
                        r->type == StoredType::BF16;
  const DType out_type = r->type == StoredType::F64 ? DType::F64 : floating ? DType::F32 : DType::I64;
  if (empty) return Tensor::zeros(r->shape, out_type);
  // Bounded memory: overlapping or zero strides could make a tiny storage expand into a huge tensor. A
  // tensor may have at most as many elements as the file has bytes (real checkpoints are far below).
  int64_t count = 1;
  for (int64_t s : r->shape) count *= s;  // fits: add_record bounded the product by 2^40
  HATTN_CHECK_INPUT(static_cast<uint64_t>(count) <= file_size_, "'", path_, "': tensor '", name, "' of shape ",
                    shape_str(r->shape), " has ", count, " elements but the file has only ", file_size_,
                    " bytes (zero or overlapping strides); refusing to expand it");
  const int64_t n = extent - r->element_offset + 1;
  // Common case (every released checkpoint): float32, contiguous, little-endian like us: read in place.
  if (readable_in_place(*r, out_type)) {
    Tensor out = Tensor::empty(r->shape, out_type);
    read_in_place(*r, out.raw_data());
    return out;
  }
  const std::string& file = file_of(*r);
  std::ifstream f(file, std::ios::binary);
  HATTN_CHECK_INPUT(f.good(), "'", file, "': cannot reopen to read tensor '", name, "'");
  f.seekg(static_cast<std::streamoff>(r->file_offset + r->element_offset * es));
  std::vector<char> bytes(n * es);
  f.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  HATTN_CHECK_INPUT(static_cast<size_t>(f.gcount()) == bytes.size(), "'", file, "': truncated data for tensor '", name, "'");
  // widen into a flat buffer of the output type
  Tensor flat = Tensor::empty({n}, out_type);
  for (int64_t i = 0; i < n; ++i) {
    const char* p = bytes.data() + i * es;
    double v = 0;
    switch (r->type) {
      case StoredType::F32: { float x; std::memcpy(&x, p, 4); v = x; break; }
      case StoredType::F64: { double x; std::memcpy(&x, p, 8); v = x; break; }
      case StoredType::F16: { uint16_t x; std::memcpy(&x, p, 2); v = half_to_float(x); break; }
      case StoredType::BF16: { uint16_t x; std::memcpy(&x, p, 2); uint32_t b = uint32_t(x) << 16; float y; std::memcpy(&y, &b, 4); v = y; break; }
      case StoredType::I64: { int64_t x; std::memcpy(&x, p, 8); flat.data<int64_t>()[i] = x; continue; }
      case StoredType::I32: { int32_t x; std::memcpy(&x, p, 4); v = x; break; }
      case StoredType::I16: { int16_t x; std::memcpy(&x, p, 2); v = x; break; }
      case StoredType::I8: { int8_t x; std::memcpy(&x, p, 1); v = x; break; }
      case StoredType::U8: case StoredType::Bool: v = static_cast<unsigned char>(*p); break;
    }
    if (out_type == DType::F32) flat.data<float>()[i] = static_cast<float>(v);
    else if (out_type == DType::F64) flat.data<double>()[i] = v;
    else flat.data<int64_t>()[i] = static_cast<int64_t>(v);
  }
  return raw::contiguous(raw::as_strided(flat, r->shape, r->strides, 0));
}

bool Checkpoint::readable_in_place(const TensorRecord& r, DType as) const {
  const bool same_type = (r.type == StoredType::F32 && as == DType::F32) ||
                         (r.type == StoredType::F64 && as == DType::F64) ||
                         (r.type == StoredType::I64 && as == DType::I64);
  return same_type && r.strides == contiguous_strides(r.shape);
}

void Checkpoint::read_in_place(const TensorRecord& r, void* dst) const {
  int64_t count = 1;
  for (int64_t d : r.shape) count *= d;
  const size_t nbytes = static_cast<size_t>(count) * stored_type_size(r.type);
  if (nbytes == 0) return;
  const std::string& file = file_of(r);
  std::ifstream f(file, std::ios::binary);
  HATTN_CHECK_INPUT(f.good(), "'", file, "': cannot reopen to read tensor '", r.name, "'");
  f.seekg(static_cast<std::streamoff>(r.file_offset + r.element_offset * stored_type_size(r.type)));
  f.read(static_cast<char*>(dst), static_cast<std::streamsize>(nbytes));
  HATTN_CHECK_INPUT(f.gcount() == static_cast<std::streamsize>(nbytes), "'", file, "': truncated data for tensor '",
                    r.name, "'");
}

void Checkpoint::load_into(const std::string& name, Tensor& dst) const {
  const TensorRecord* r = find(name);
  HATTN_CHECK_INPUT(r != nullptr, "'", path_, "': no tensor named '", name, "'");
  HATTN_CHECK(dst.shape() == r->shape, "Checkpoint::load_into: '", name, "' is ", shape_str(r->shape),
              ", the destination ", shape_str(dst.shape()));
  if (dst.device().is_cpu() && dst.is_contiguous() && readable_in_place(*r, dst.dtype()))
    read_in_place(*r, dst.raw_data());  // one read straight into the parameter, no temporary
  else
    dst.copy_(load(name));
}

Checkpoint Checkpoint::open(const std::string& path) {
  require_readable_file(path, "checkpoint");
  std::ifstream f(path, std::ios::binary);
  HATTN_CHECK_INPUT(f.good(), "cannot open checkpoint '", path, "'");
  char magic[4] = {0, 0, 0, 0};
  f.read(magic, 4);
  HATTN_CHECK_INPUT(f.gcount() == 4, "'", path, "': file is too short to be a checkpoint");
  if (magic[0] == 'P' && magic[1] == 'K') return open_pth(path);
  if (path.size() >= 12 && path.compare(path.size() - 12, 12, ".safetensors") == 0) return open_safetensors(path);
  f.seekg(8);  // safetensors: an 8-byte little-endian header length, then the JSON header's '{'
  char brace = 0;
  f.read(&brace, 1);
  if (brace == '{') return open_safetensors(path);
  throw InputError(str("'", path, "': not a PyTorch zip checkpoint (.pth) or a .safetensors file (bad magic)"));
}

}  // namespace ha
