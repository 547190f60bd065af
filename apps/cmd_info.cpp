// hattn info: what a checkpoint holds and the configuration resolved from it (docs/definitions.md §1, §8).
#include <cstdio>

#include "apps/common.h"

namespace ha::app {

int run_info(int argc, char** argv) {
  Args args("info", "Print a checkpoint's family (Vision Mamba, ViT/DeiT, or a text model's folder: Mamba, GPT-NeoX, BERT), "
                    "resolved configuration, parameter count and other contents.");
  add_checkpoint_options(args);
  if (!args.parse(argc, argv)) return 0;
  std::printf("%s", xai::inspect(args.get("checkpoint"), load_options(args)).c_str());
  return 0;
}

}  // namespace ha::app
