// hattn info: what a checkpoint holds and the configuration resolved from it (docs/definitions.md §1, §8).
#include <cstdio>

#include "apps/common.h"
#include "models/load_lm.h"

namespace ha::app {

int run_info(int argc, char** argv) {
  Args args("info", "Print a checkpoint's family (Vision Mamba, ViT/DeiT, or a Mamba language model's folder), "
                    "resolved configuration, parameter count and other contents.");
  add_checkpoint_options(args);
  if (!args.parse(argc, argv)) return 0;
  if (looks_like_lm(args.get("checkpoint"))) {  // a language model's folder (or its weights / config.json)
    if (args.has("stride") || args.has("img-size") || args.has("heads"))
      throw UsageError("--stride, --img-size and --heads apply to vision models, not to a language model");
    const LmFiles files = find_lm_files(args.get("checkpoint"));
    const Checkpoint ckpt = open_lm_checkpoint(files);
    std::string how;
    const LmConfig c = infer_lm_config(ckpt, files, &how);
    int64_t stored = 0;
    for (const TensorRecord& r : ckpt.records()) stored += numel_of(r.shape);
    std::printf("files       %s (%s, %zu tensors, %lld values)%s%s\n", files.folder.c_str(), ckpt.format().c_str(),
                ckpt.records().size(), static_cast<long long>(stored), files.config.empty() ? "" : ", ",
                files.config.c_str());
    std::printf("config      %s\n", c.describe().c_str());
    if (!how.empty()) std::printf("resolved    %s\n", how.c_str());
    std::printf("parameters  %lld\n", static_cast<long long>(MambaLM(c).parameter_count()));
    return 0;
  }
  Checkpoint ckpt = Checkpoint::open(args.get("checkpoint"));
  int64_t stored = 0;
  for (const TensorRecord& r : ckpt.records()) stored += numel_of(r.shape);
  std::printf("file        %s (%s, %zu tensors, %lld values)\n", ckpt.path().c_str(), ckpt.format().c_str(),
              ckpt.records().size(), static_cast<long long>(stored));
  if (detect_family(ckpt) == ModelFamily::Vit) {
    if (args.has("stride") || args.has("img-size"))
      throw UsageError("--stride and --img-size apply to Vision Mamba only; a ViT's input size comes from its checkpoint");
    const VitConfig c = infer_vit_config(ckpt, args.has("heads") ? args.get_int("heads") : 0);
    std::printf("config      %s\n", c.describe().c_str());
    std::printf("resolved    heads %s\n", args.has("heads") ? "from --heads" : "= width / 64 (or the file's metadata); --heads overrides");
    std::printf("parameters  %lld\n", static_cast<long long>(VisionTransformer(c).parameter_count()));
  } else {
    std::string how;
    VimConfig c = infer_vim_config(ckpt, config_overrides(args), &how);
    std::printf("config      %s\n", c.describe().c_str());
    std::printf("resolved    %s\n", how.c_str());
    std::printf("parameters  %lld\n", static_cast<long long>(VisionMamba(c).parameter_count()));
  }
  for (const auto& [k, v] : ckpt.extras()) std::printf("holds       %s: %s\n", k.c_str(), v.c_str());
  for (const auto& [k, v] : ckpt.metadata()) {
    if (k.rfind("args.", 0) == 0) std::printf("%-11s %s = %s\n", "args", k.substr(5).c_str(), v.c_str());
  }
  return 0;
}

}  // namespace ha::app
