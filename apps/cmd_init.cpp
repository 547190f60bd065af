// hattn init: a randomly initialised model of a released shape, of any family (for benchmarks, tests and trying
// the tools without downloading weights). Predictions of such a model mean nothing.
#include <cstdio>

#include "apps/common.h"
#include "models/init.h"
#include "models/save_lm.h"

namespace ha::app {

int run_init(int argc, char** argv) {
  Args args("init", "Write a randomly initialised model of a released shape: a Vision Mamba or ViT/DeiT checkpoint "
                    "(safetensors), or a Mamba language model folder.");
  args.option("config", "tiny",
              "Vision Mamba: tiny (D 192) | small (D 384) | base (D 768), depth 24, 224x224, patch 16; ViT: deit-tiny "
              "| deit-small | deit-base (depth 12, 224x224, patch 16); language models: mamba-130m | mamba2-130m "
              "(state-spaces' configurations, a folder with config.json and model.safetensors)")
      .option("stride", "16", "Vision Mamba: patch stride (16: 197 tokens, 8: 730 tokens)")
      .option("seed", "0", "seed of the initialisation")
      .option("out", "", "output .safetensors file (a folder for a language model)", true);
  if (!args.parse(argc, argv)) return 0;
  const std::string name = args.get("config"), out = args.get("out");
  const uint64_t seed = static_cast<uint64_t>(args.get_int("seed"));
  const std::map<std::string, std::string> note = {{"hattn_note", "random initialisation, not trained"}};
  if (name == "mamba-130m" || name == "mamba2-130m") {
    LmConfig c;
    c.family = name == "mamba-130m" ? LmFamily::Mamba1 : LmFamily::Mamba2;
    c.d_model = 768, c.n_layer = 24, c.d_inner = 1536, c.d_conv = 4, c.tied = true;
    c.vocab = c.family == LmFamily::Mamba1 ? 50280 : 50288;
    c.d_state = c.family == LmFamily::Mamba1 ? 16 : 128;
    c.dt_rank = 48, c.nheads = 24, c.ngroups = 1;
    MambaLM model(c);
    initialize_parameters(model, seed);
    make_output_dir(out);
    save_lm_folder(model, out, note);
    std::printf("wrote %s/{config.json, model.safetensors}: %s, random weights (seed %lld)\n", out.c_str(),
                c.describe().c_str(), static_cast<long long>(seed));
    return 0;
  }
  if (name.rfind("deit-", 0) == 0) {
    VitConfig c = VitConfig::deit_tiny();
    if (name == "deit-small") c.d_model = 384, c.heads = 6, c.mlp_hidden = 1536;
    else if (name == "deit-base") c.d_model = 768, c.heads = 12, c.mlp_hidden = 3072;
    else if (name != "deit-tiny") throw UsageError("unknown --config '" + name + "' (deit-tiny, deit-small, deit-base)");
    VisionTransformer model(c);
    initialize_parameters(model, seed);
    std::map<std::string, std::string> meta = note;
    meta.insert({{"family", "vit"}, {"config.heads", std::to_string(c.heads)}, {"config.normalize", "imagenet"}});
    save_safetensors(out, model.named_parameters(), meta);
    std::printf("wrote %s: %s, random weights (seed %lld)\n", out.c_str(), c.describe().c_str(),
                static_cast<long long>(seed));
    return 0;
  }
  VimConfig c;
  if (name == "tiny") c = VimConfig::tiny();
  else if (name == "small") c = VimConfig::small();
  else if (name == "base") c = VimConfig::base();
  else throw UsageError("unknown --config '" + name + "' (tiny, small, base, deit-tiny, deit-small, deit-base, "
                        "mamba-130m, mamba2-130m)");
  c.stride = args.get_int("stride");
  if (c.stride <= 0 || c.stride > c.patch) throw UsageError("--stride must be in 1..16");
  VisionMamba model(c);
  initialize_parameters(model, seed);
  save_vim_safetensors(model, out, note);
  std::printf("wrote %s: %s, random weights (seed %lld)\n", out.c_str(), c.describe().c_str(),
              static_cast<long long>(seed));
  return 0;
}

}  // namespace ha::app
