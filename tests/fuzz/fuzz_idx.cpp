// Fuzz target: the IDX reader (gzip or plain).
#include "models/io/idx.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = ha::fuzz::write_input(data, size, ".idx");
  ha::fuzz::expect_clean([&] { ha::load_idx(path); });
  return 0;
}
