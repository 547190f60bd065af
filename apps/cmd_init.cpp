// hattn init: a randomly initialised Vim checkpoint of a released shape (for benchmarks, tests and trying
// the tools without downloading weights). Predictions of such a model mean nothing.
#include <cstdio>

#include "apps/common.h"
#include "models/init.h"

namespace ha::app {

int run_init(int argc, char** argv) {
  Args args("init", "Write a randomly initialised Vision Mamba checkpoint (safetensors) of a released shape.");
  args.option("config", "tiny", "tiny (D 192) | small (D 384) | base (D 768); depth 24, 224x224, patch 16")
      .option("stride", "16", "patch stride (16: 197 tokens, 8: 730 tokens)")
      .option("seed", "0", "seed of the initialisation")
      .option("out", "", "output .safetensors file", true);
  if (!args.parse(argc, argv)) return 0;
  const std::string name = args.get("config");
  VimConfig c;
  if (name == "tiny") c = VimConfig::tiny();
  else if (name == "small") c = VimConfig::small();
  else if (name == "base") c = VimConfig::base();
  else throw UsageError("unknown --config '" + name + "' (tiny, small or base)");
  c.stride = args.get_int("stride");
  if (c.stride <= 0 || c.stride > c.patch) throw UsageError("--stride must be in 1..16");
  VisionMamba model(c);
  initialize_parameters(model, static_cast<uint64_t>(args.get_int("seed")));
  save_vim_safetensors(model, args.get("out"), {{"hattn_note", "random initialisation, not trained"}});
  std::printf("wrote %s: %s, random weights (seed %lld)\n", args.get("out").c_str(), c.describe().c_str(),
              static_cast<long long>(args.get_int("seed")));
  return 0;
}

}  // namespace ha::app
