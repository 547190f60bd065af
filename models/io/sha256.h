// SHA-256 (FIPS 180-4) of bytes and of files, streamed: what results record to name the checkpoint they came from.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace ha {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  std::string hex();  // finishes; the object is spent

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t used_ = 0;
  uint64_t bytes_ = 0;
};

std::string sha256_hex(const std::string& bytes);
std::string sha256_file(const std::string& path);  // InputError naming the file when it cannot be read

}  // namespace ha
