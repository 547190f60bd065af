// Fuzz target: a language model's config.json (the JSON reader, then every field the loader reads under either
// naming), beside the fixed weights of a small Mamba-2 model (tests/data/lm_ref/mamba2_ss): telling the family
// and resolving the configuration against the shapes.
#include <unistd.h>

#include <filesystem>

#include "models/load_lm.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fs = std::filesystem;
  static const std::string dir = [] {
    const std::string d = "/tmp/hattn_fuzz_lm_" + std::to_string(getpid());
    fs::create_directories(d);
    fs::copy_file(std::string(HATTN_TEST_DATA) + "/lm_ref/mamba2_ss/pytorch_model.bin", d + "/pytorch_model.bin",
                  fs::copy_options::overwrite_existing);
    return d;
  }();
  FILE* f = std::fopen((dir + "/config.json").c_str(), "wb");
  if (!f) __builtin_trap();
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
  ha::fuzz::expect_clean([&] {
    ha::looks_like_lm(dir);
    const ha::LmFiles files = ha::find_lm_files(dir);
    static const ha::Checkpoint ckpt = ha::open_lm_checkpoint(files);  // the weights never change
    std::string how;
    ha::infer_lm_config(ckpt, files, &how);
  });
  return 0;
}
