// What the subcommands share: the checkpoint options (--checkpoint, --stride, --img-size) and loading.
#pragma once
#include <memory>
#include <string>

#include "apps/args.h"
#include "models/load.h"

namespace ha::app {

void add_checkpoint_options(Args& args);  // --checkpoint (required), --stride, --img-size, --device
Device parse_device(const std::string& s);  // cpu | cuda | cuda:N

struct LoadedModel {
  Checkpoint ckpt;
  std::unique_ptr<VisionMamba> model;
  std::string how;  // where stride and image size came from
};

LoadedModel load_model(const Args& args);
// Creates an output folder (and its parents); a clear error when it cannot.
void make_output_dir(const std::string& dir);
ConfigOverrides config_overrides(const Args& args);

int run_classify(int argc, char** argv);
int run_info(int argc, char** argv);
int run_init(int argc, char** argv);
int run_explain(int argc, char** argv);
int run_attention(int argc, char** argv);
int run_train(int argc, char** argv);
int run_eval(int argc, char** argv);
int run_metrics(int argc, char** argv);
int run_cluttered(int argc, char** argv);
int run_influence(int argc, char** argv);
int run_explore(int argc, char** argv);

}  // namespace ha::app
