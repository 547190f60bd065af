// Fuzz target: the .pth reader (zip index + restricted unpickler + tensor records) and loading every tensor.
#include "models/io/checkpoint.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = ha::fuzz::write_input(data, size, ".pth");
  ha::fuzz::expect_clean([&] {
    ha::Checkpoint c = ha::open_pth(path);
    for (const ha::TensorRecord& r : c.records()) c.load(r.name);
  });
  return 0;
}
