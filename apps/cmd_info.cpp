// hattn info: what a checkpoint holds and the configuration resolved from it (docs/definitions.md §1, §8).
#include <cstdio>

#include "apps/common.h"

namespace ha::app {

int run_info(int argc, char** argv) {
  Args args("info", "Print a checkpoint's resolved Vim configuration, parameter count and other contents.");
  add_checkpoint_options(args);
  if (!args.parse(argc, argv)) return 0;
  Checkpoint ckpt = Checkpoint::open(args.get("checkpoint"));
  std::string how;
  VimConfig c = infer_vim_config(ckpt, config_overrides(args), &how);
  VisionMamba model(c);
  int64_t stored = 0;
  for (const TensorRecord& r : ckpt.records()) stored += numel_of(r.shape);
  std::printf("file        %s (%s, %zu tensors, %lld values)\n", ckpt.path().c_str(), ckpt.format().c_str(),
              ckpt.records().size(), static_cast<long long>(stored));
  std::printf("config      %s\n", c.describe().c_str());
  std::printf("resolved    %s\n", how.c_str());
  std::printf("parameters  %lld\n", static_cast<long long>(model.parameter_count()));
  for (const auto& [k, v] : ckpt.extras()) std::printf("holds       %s: %s\n", k.c_str(), v.c_str());
  for (const auto& [k, v] : ckpt.metadata()) {
    if (k.rfind("args.", 0) == 0) std::printf("%-11s %s = %s\n", "args", k.substr(5).c_str(), v.c_str());
  }
  return 0;
}

}  // namespace ha::app
