// hattn init: a randomly initialised model of a released shape, of any family (for benchmarks, tests and trying
// the tools without downloading weights). Predictions of such a model mean nothing.
#include <cstdio>

#include "apps/common.h"
#include "models/builders.h"

namespace ha::app {

int run_init(int argc, char** argv) {
  Args args("init", "Write a randomly initialised model of a released shape: a Vision Mamba or ViT/DeiT checkpoint "
                    "(safetensors), or a text model folder (Mamba, GPT-NeoX, BERT).");
  args.option("config", "tiny",
              "Vision Mamba: tiny (D 192) | small (D 384) | base (D 768), depth 24, 224x224, patch 16; ViT: deit-tiny "
              "| deit-small | deit-base (depth 12, 224x224, patch 16); language models: mamba-130m | mamba2-130m "
              "(state-spaces' configurations) | pythia-160m (EleutherAI's) | bert-base (bert-base-uncased with a "
              "two-class head), a folder with config.json and model.safetensors")
      .option("stride", "16", "Vision Mamba: patch stride (16: 197 tokens, 8: 730 tokens)")
      .option("seed", "0", "seed of the initialisation")
      .option("out", "", "output .safetensors file (a folder for a text model)", true);
  if (!args.parse(argc, argv)) return 0;
  const std::string name = args.get("config"), out = args.get("out");
  const uint64_t seed = static_cast<uint64_t>(args.get_int("seed"));
  if (!is_released_shape(name)) throw UsageError("unknown --config '" + name + "' (" + join(released_shapes(), ", ") + ")");
  const BuiltModel model = build_released_shape(name, args.get_int("stride"), seed);
  const std::string wrote = model.save(out, {{"hattn_note", "random initialisation, not trained"}});
  std::printf("wrote %s: %s, random weights (seed %lld)\n", wrote.c_str(), model.describe.c_str(),
              static_cast<long long>(seed));
  return 0;
}

}  // namespace ha::app
