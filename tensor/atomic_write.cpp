#include "tensor/atomic_write.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "tensor/error.h"

namespace ha {

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write) {
  const std::string tmp = path + ".tmp";
  try {
    {
      std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
      HATTN_CHECK_INPUT(f.good(), "cannot write '", path, "': ", std::strerror(errno));
      write(f);
      f.flush();
      HATTN_CHECK_INPUT(f.good(), "cannot write '", path, "': the write failed (disk full?)");
      f.close();
      HATTN_CHECK_INPUT(!f.fail(), "cannot write '", path, "': closing the file failed");
    }
    HATTN_CHECK_INPUT(std::rename(tmp.c_str(), path.c_str()) == 0, "cannot write '", path, "': renaming '", tmp,
                      "' failed: ", std::strerror(errno));
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
}

}  // namespace ha
