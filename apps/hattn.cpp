// hattn: the command-line front door. Each subcommand lives in its own cmd_*.cpp; this file dispatches
// and maps failures to exit statuses (apps/exit_status.h: 0 success, 2 bad usage or bad input, 1 a bug).
#include <cstring>
#include <iostream>

#include "apps/common.h"
#include "apps/exit_status.h"
#include "apps/provenance.h"
#include "tensor/version.h"

namespace {

struct Command {
  const char* name;
  int (*run)(int, char**);
  const char* summary;
};

const Command kCommands[] = {
    {"classify", ha::app::run_classify, "top-k classes of an image"},
    {"explain", ha::app::run_explain, "explanation maps of an image: hidden attention methods and baselines"},
    {"attention", ha::app::run_attention, "one layer's hidden attention matrices"},
    {"explore", ha::app::run_explore, "an interactive explorer page (HTML, works from file://) for a few images"},
    {"train", ha::app::run_train, "train a small Vim on cluttered Fashion-MNIST"},
    {"eval", ha::app::run_eval, "evaluation protocols: perturbation, segmentation, accuracy, merge of shards"},
    {"metrics", ha::app::run_metrics, "score given maps against given masks (segmentation metrics)"},
    {"influence", ha::app::run_influence, "average cls-row influence map per layer over a data set"},
    {"similarity", ha::app::run_similarity, "oversmoothing: mean pairwise token similarity per block (Vim or ViT)"},
    {"lm", ha::app::run_lm, "Mamba-1/Mamba-2 language models: logits, generation, hidden attention, explanations"},
    {"cluttered", ha::app::run_cluttered, "export cluttered Fashion-MNIST items as PNG (image, mask, labels)"},
    {"info", ha::app::run_info, "what a checkpoint holds and the configuration resolved from it"},
    {"init", ha::app::run_init, "write a randomly initialised model of a released shape (Vim, ViT/DeiT, Mamba LM)"},
};

void usage(std::ostream& os) {
  os << "usage: hattn <command> [options]   (hattn <command> --help for its options; hattn --version)\n\ncommands:\n";
  for (const Command& c : kCommands) os << "  " << c.name << std::string(12 - std::strlen(c.name), ' ') << c.summary << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  ha::app::set_command_line(argc, argv);  // results.json's provenance
  if (argc >= 2 && !std::strcmp(argv[1], "--version")) {
    std::cout << "hattn " << ha::version() << "\n";
    return 0;
  }
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? 2 : 0;
  }
  for (const Command& c : kCommands) {
    if (std::strcmp(argv[1], c.name) != 0) continue;
    try {
      return c.run(argc - 2, argv + 2);
    } catch (...) {
      const ha::app::Failure f = ha::app::failure_of(std::current_exception());
      std::cerr << f.line << "\n";
      return f.status;
    }
  }
  std::cerr << "error: unknown command '" << argv[1] << "'\n";
  usage(std::cerr);
  return 2;
}
