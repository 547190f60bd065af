// Reads the index of a zip archive (as torch.save writes it: stored entries, zip64 when large). Only
// what a checkpoint needs: entry names, where each entry's bytes start, their size, the compression method.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ha::zip {

struct Entry {
  std::string name;
  uint64_t data_offset = 0;  // first byte of the (stored) data in the file
  uint64_t size = 0;         // compressed size (= size when stored)
  uint16_t method = 0;       // 0 = stored
};

std::vector<Entry> read_index(const std::string& path);  // every offset and length bounds-checked
std::string read_entry(const std::string& path, const Entry& e, uint64_t max_bytes);  // stored entries only

}  // namespace ha::zip
