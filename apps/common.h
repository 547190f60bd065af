// What the subcommands share: the checkpoint options (--checkpoint, --stride, --img-size) and loading.
#pragma once
#include <memory>
#include <string>

#include "apps/args.h"
#include "models/mamba_lm.h"
#include "models/load.h"
#include "models/load_vit.h"
#include "models/preprocess.h"
#include "models/train.h"

namespace ha::app {

void add_checkpoint_options(Args& args);  // --checkpoint (required), --stride, --img-size, --device
Device parse_device(const std::string& s);  // cpu | cuda | cuda:N
// --device parsed and checked against the devices this machine and build have (an InputError naming them).
Device requested_device(const Args& args);

struct LoadedModel {
  Checkpoint ckpt;
  ModelFamily family = ModelFamily::Vim;
  std::unique_ptr<VisionMamba> model;       // a Vision Mamba checkpoint
  std::unique_ptr<VisionTransformer> vit;   // a ViT / DeiT checkpoint (only where allow_vit)
  Normalization normalization = Normalization::ImageNet;
  std::string how;  // where stride and image size came from
};

// The checkpoint of --checkpoint, its family told from its keys. Commands that do not handle ViTs yet pass
// allow_vit = false and refuse one with exit status 2.
LoadedModel load_model(const Args& args, bool allow_vit = false);
// Creates an output folder (and its parents); a clear error when it cannot.
void make_output_dir(const std::string& dir);
std::string hms(double seconds);  // "h:mm:ss", for progress bars
// The start of a training run: the model moved to --device, its AdamW (--weight-decay) built there, and with
// --resume both restored from `checkpoint` (st receives the saved progress).
std::unique_ptr<nn::AdamW> start_training(nn::Module& model, const Args& args, const std::string& checkpoint,
                                          TrainState& st);
// --channels A:B (half-open, 0 <= A < B <= total); all of [0, total) when not given.
std::pair<int64_t, int64_t> channel_range(const Args& args, int64_t total);
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
int run_similarity(int argc, char** argv);
int run_lm(int argc, char** argv);
int run_lm_train(int argc, char** argv);  // hattn lm train (cmd_lm_train.cpp)
int run_lm_eval(int argc, char** argv);   // hattn lm eval (cmd_lm_eval.cpp)
// A language model from --model, moved to --device when the command has that option (cmd_lm.cpp).
std::unique_ptr<MambaLM> load_lm_model(const Args& args);

}  // namespace ha::app
