// The model registry: every family the project explains, registered in one table (registry.cpp), and load(path),
// which tells the family from the file (its tensor names, a language model's config.json) and returns the family's
// adapter (xai/explainable.h). Options a family takes at load time (a Vim's stride, a ViT's heads) are passed by
// name; a family refuses the ones it does not take, so a caller never needs to know which family it holds.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/io/checkpoint.h"
#include "models/gpt_neox.h"
#include "models/mamba_lm.h"
#include "models/vision_mamba.h"
#include "models/vision_transformer.h"
#include "xai/explainable.h"

namespace ha::xai {

// A model's path, with its checkpoint opened on first use (one read for every family that looks at it).
class ModelFile {
 public:
  explicit ModelFile(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }
  const Checkpoint& checkpoint() const;

 private:
  std::string path_;
  mutable std::optional<Checkpoint> ckpt_;
};

struct LoadOptions {
  std::map<std::string, std::string> values;  // by name: what the families declare (FamilyEntry::load_options)
  Device device = Device::cpu();
};

// The integer value of options[key] (fallback when absent); an InputError naming the key when it is not one.
int64_t option_int(const std::map<std::string, std::string>& options, const std::string& key, int64_t fallback);

struct LoadOption {
  std::string name, help;  // the name in LoadOptions::values, and what it means
};

struct FamilyEntry {
  std::string key;                      // "vim", "vit", "mamba_lm"
  std::string name;                     // for people: "Vision Mamba"
  std::string files;                    // what its files look like: "a Vision Mamba checkpoint (layers.N.mixer.*)"
  std::vector<LoadOption> load_options;  // those it reads
  bool (*recognizes)(const ModelFile& file);
  std::unique_ptr<Explainable> (*load)(const ModelFile& file, const LoadOptions& options);
  // What `hattn info` prints: the file, the resolved configuration and where it came from, without the weights.
  std::string (*inspect)(const ModelFile& file, const LoadOptions& options);
};

const std::vector<FamilyEntry>& families();
// The family of a model file; an InputError naming the file and what was looked for when none recognises it.
const FamilyEntry& family_of(const ModelFile& file);
bool takes_load_option(const FamilyEntry& family, const std::string& name);
// An InputError when `options` names one the family does not take.
void check_load_options(const FamilyEntry& family, const LoadOptions& options, const std::string& path);
std::unique_ptr<Explainable> load(const std::string& path, const LoadOptions& options = {});
std::unique_ptr<Explainable> load(const ModelFile& file, const LoadOptions& options = {});  // the file opened once
std::string inspect(const std::string& path, const LoadOptions& options = {});

// `hattn info`'s lines about a checkpoint file: "file  PATH (format, N tensors, M values)", and what else it holds.
std::string checkpoint_file_line(const Checkpoint& ckpt);
std::string checkpoint_extras_lines(const Checkpoint& ckpt);

// The families (xai/families/*.cpp): their registry entries, and their adapters around a model already in memory
// (tests, benchmarks, training loops; missing class names become "class k").
FamilyEntry vision_mamba_family();
FamilyEntry vision_transformer_family();
FamilyEntry mamba_lm_family();
FamilyEntry gpt_neox_family();
FamilyEntry bert_family();
std::unique_ptr<Explainable> vision_mamba_explainable(std::shared_ptr<const VisionMamba> model,
                                                      std::vector<std::string> class_names = {});
std::unique_ptr<Explainable> vision_transformer_explainable(std::shared_ptr<const VisionTransformer> model,
                                                            Normalization normalization = Normalization::ImageNet,
                                                            std::vector<std::string> class_names = {});
std::unique_ptr<Explainable> mamba_lm_explainable(std::shared_ptr<const MambaLM> model);
std::unique_ptr<Explainable> gpt_neox_explainable(std::shared_ptr<const GptNeox> model);

}  // namespace ha::xai
