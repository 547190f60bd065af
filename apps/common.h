// What the subcommands share: the checkpoint options (--checkpoint, --stride, --img-size) and loading.
#pragma once
#include <memory>
#include <string>

#include "apps/args.h"
#include "models/mamba_lm.h"
#include "models/load.h"
#include "models/preprocess.h"
#include "models/train.h"
#include "xai/explain.h"
#include "xai/registry.h"

namespace ha::app {

// --checkpoint (required), every family's load options (--stride, --img-size, --heads, --normalize) and --device.
void add_checkpoint_options(Args& args);
// --device parsed and checked against the devices this machine and build have (tensor/device.h).
Device requested_device(const Args& args);

// The family-specific load options the command line gave (--stride, --img-size, --heads, --normalize: every
// name some family reads at load time) and --device.
xai::LoadOptions load_options(const Args& args);
// --checkpoint's model through the registry (xai/registry.h): whichever family the file holds.
std::unique_ptr<xai::Explainable> load_model(const Args& args);
// An image model, or a UsageError pointing a language model to `hattn lm`.
void require_images(const xai::FamilyInfo& f, const std::string& path);
// --aggregate, --discard, --clamp: the paper's ablations of rollout and attr (xai/explain.h), and reading them.
void add_ablation_options(Args& args);
xai::Ablation ablation_options(const Args& args);

// A UsageError for each of `names` given on the command line that the family does not take (FamilyInfo::options).
void check_family_options(const Args& args, const xai::FamilyInfo& f, const std::vector<std::string>& names);
// Writes one layer's mixer matrices (channels or heads [c0, c1), the part `part`) as DIR/attn_l<l>[_<part>].npy,
// float32 [c1 − c0, L, L], streamed in blocks of channels, and a picture of their mean and the first 15 (hattn
// attention, hattn lm attention). mean_only: their mean alone, DIR/attn_l<l>[_<part>]_mean.npy float32 [1, L, L].
void write_attention(const xai::Explainable& model, const xai::Trace& trace, int64_t layer, const std::string& part,
                     int64_t c0, int64_t c1, int64_t first_k, const std::string& folder, bool mean_only = false);

// Creates an output folder (and its parents); a clear error when it cannot.
void make_output_dir(const std::string& dir);
// The k most probable classes of one row of logits: {"class", "label", "logit", "prob"} JSON objects joined by ", ",
// or a table (rank, class, logit, prob, label). Refuses non-finite logits.
std::string top_classes_json(const std::vector<float>& logits, const std::vector<std::string>& names, int64_t k);
void print_top_classes(const std::vector<float>& logits, const std::vector<std::string>& names, int64_t k);
std::string hms(double seconds);  // "h:mm:ss", for progress bars
// The start of a training run: the model moved to --device, its AdamW (--weight-decay) built there, and with
// --resume both restored from `checkpoint` (st receives the saved progress).
std::unique_ptr<nn::AdamW> start_training(nn::Module& model, const Args& args, const std::string& checkpoint,
                                          TrainState& st);
// --channels A:B (half-open, 0 <= A < B <= total); all of [0, total) when not given.
std::pair<int64_t, int64_t> channel_range(const Args& args, int64_t total);

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
// The same as an explainable model (xai/registry.h); a UsageError when --model is not a language model.
std::unique_ptr<xai::Explainable> load_language_model(const Args& args);

}  // namespace ha::app
