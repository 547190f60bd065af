// Fuzz target: image decoding (stb_image) and the Pillow-exact preprocessing of whatever decodes.
#include "models/preprocess.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = ha::fuzz::write_input(data, size, ".img");
  ha::fuzz::expect_clean([&] {
    ha::Image8 img = ha::load_image(path);
    if (img.width * img.height <= 4096) ha::preprocess_image(img, 24, ha::Preprocess::VimEval);
  });
  return 0;
}
