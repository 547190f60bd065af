// Fuzz target: the .npy reader.
#include "tensor/npy.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = ha::fuzz::write_input(data, size, ".npy");
  ha::fuzz::expect_clean([&] { ha::load_npy(path); });
  return 0;
}
