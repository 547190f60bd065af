// Fuzz target: the safetensors reader (header length, JSON, records) and loading every tensor.
#include "models/io/checkpoint.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = ha::fuzz::write_input(data, size, ".safetensors");
  ha::fuzz::expect_clean([&] {
    ha::Checkpoint c = ha::open_safetensors(path);
    for (const ha::TensorRecord& r : c.records()) c.load(r.name);
  });
  return 0;
}
