// A checkpoint file opened for reading: the tensor index (names, dtypes, shapes, where the bytes are)
// is read up front; tensor data is read only when asked for, so optimizer state never enters memory.
// Formats: PyTorch .pth (zip + restricted pickle, pth.cpp) and .safetensors (safetensors.cpp), chosen by
// the file's first bytes.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace ha {

enum class StoredType { F32, F64, F16, BF16, I64, I32, I16, I8, U8, Bool };
const char* stored_type_name(StoredType t);
size_t stored_type_size(StoredType t);

struct TensorRecord {
  std::string name;
  StoredType type = StoredType::F32;
  Shape shape, strides;        // strides in elements
  int64_t element_offset = 0;  // into the storage
  uint64_t file_offset = 0;    // byte offset of the storage in the file
  uint64_t storage_bytes = 0;  // bytes available from file_offset
  std::string file;            // the file holding it when it is not the checkpoint's own path (merged shards)
};

class Checkpoint {
 public:
  static Checkpoint open(const std::string& path);
  // Several files as one (a sharded checkpoint): each tensor is read from its own file; `name` names the whole
  // in messages. A tensor in two parts is refused.
  static Checkpoint merge(const std::string& name, std::vector<Checkpoint> parts);
  // Gives tensor `from` the name `to` (one layout's spelling of another's key); nothing when `from` is absent.
  void rename(const std::string& from, const std::string& to);

  const std::string& path() const { return path_; }
  const std::string& format() const { return format_; }
  const std::vector<TensorRecord>& records() const { return records_; }
  const TensorRecord* find(const std::string& name) const;
  // Reads one tensor; floating types arrive as float32 (or float64 if stored so), integer types as int64.
  Tensor load(const std::string& name) const;
  // The same into an existing tensor of the stored shape (a model's parameter): read straight into it when it is
  // a contiguous CPU tensor of the stored dtype and the file holds the tensor contiguous, else copied.
  void load_into(const std::string& name, Tensor& dst) const;
  // Everything else the file holds, as printable key/value lines (outer dict keys, args, metadata).
  const std::vector<std::pair<std::string, std::string>>& extras() const { return extras_; }
  // safetensors __metadata__ or the pth args namespace, flattened to strings (e.g. "input_size" -> "224")
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // Builders used by the format readers.
  std::string path_, format_;
  std::vector<TensorRecord> records_;
  std::vector<std::pair<std::string, std::string>> extras_;
  std::map<std::string, std::string> metadata_;
  std::map<std::string, size_t> index_;
  uint64_t file_size_ = 0;
  void add_record(TensorRecord r);  // validates extent against the storage; throws naming the tensor

 private:
  const std::string& file_of(const TensorRecord& r) const { return r.file.empty() ? path_ : r.file; }
  bool readable_in_place(const TensorRecord& r, DType as) const;  // stored contiguous as `as`
  void read_in_place(const TensorRecord& r, void* dst) const;
};

Checkpoint open_pth(const std::string& path);
Checkpoint open_safetensors(const std::string& path);

// Writes tensors (float32/float64/int64/int32/uint8) and string metadata; atomically (temp file + rename).
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace ha
