#include "models/io/read_file.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tensor/error.h"

namespace ha {

std::string read_whole_file(const std::string& path, size_t limit, const std::string& what) {
  std::error_code ec;
  HATTN_CHECK_INPUT(!std::filesystem::is_directory(path, ec), "'", path, "': is a directory, not a ", what);
  std::ifstream f(path, std::ios::binary);
  HATTN_CHECK_INPUT(f.good(), "'", path, "': cannot open the ", what);
  const auto size = std::filesystem::file_size(path, ec);
  HATTN_CHECK_INPUT(ec || size <= limit, "'", path, "': ", size, " bytes is more than a ", what, " can be (", limit,
                    ")");
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace ha
