// Fuzz target: the gtsegs_ijcv.mat reader (HDF5 in a forked child). Every layout check and every item read must
// end in either data or an InputError naming the file; HDF5 itself runs in the child, so its crashes are errors.
#include "models/io/gtsegs.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = ha::fuzz::write_input(data, size, ".mat");
  ha::fuzz::expect_clean([&] {
    ha::GtSegsFile f(path);
    for (int64_t i = 0; i < f.size() && i < 4; ++i) f.item(i);
  });
  return 0;
}
