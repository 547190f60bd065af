// Models built from a name instead of loaded from a file, each family's construction in one place: the released
// shapes with random weights (`hattn init`) and the small models trained on cluttered Fashion-MNIST (`hattn
// train`). A built model carries what a command needs without knowing its family: the module to optimise, its
// classifier (vision models), the configuration entries its files carry, and how to write it as hattn loads it.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nn/module.h"

namespace ha {

struct BuiltModel {
  std::shared_ptr<nn::Module> module;
  std::function<Tensor(const Tensor&)> logits;  // images (B, 3, H, W) -> (B, classes); text (B, T) -> the last position's (B, ·)
  std::map<std::string, std::string> metadata;  // the configuration entries every file written of it carries
  std::string describe;
  // Writes the model where `path` says (a .safetensors file, or a language model's folder, created if needed)
  // with `extra` metadata; returns what was written.
  std::function<std::string(const std::string& path, const std::map<std::string, std::string>& extra)> save;
};

std::vector<std::string> released_shapes();        // the names build_released_shape takes
bool is_released_shape(const std::string& name);
std::vector<std::string> cluttered_architectures();  // vim, vit
bool is_cluttered_architecture(const std::string& arch);

// tiny | small | base (Vision Mamba, patch 16, stride `stride`), deit-tiny | deit-small | deit-base,
// mamba-130m | mamba2-130m (state-spaces' configurations), pythia-160m, bert-base; random weights from `seed`.
BuiltModel build_released_shape(const std::string& name, int64_t stride, uint64_t seed);

// A small text model trained from scratch (hattn lm train): arch mamba1 | mamba2 | gpt_neox | bert; `classes` 0:
// a language model over `vocab` tokens, whose `logits` are the next-token logits at the last position (B, V);
// else a sequence classifier (Hugging Face's score head for the decoders, BERT's classifier) with those
// `class_names`, whose `logits` are the classes' (B, classes). Ids (B, T) of one length.
struct TextModelShape {
  std::string arch = "mamba1";
  int64_t vocab = 256, width = 64, layers = 2, d_state = 16, headdim = 16, heads = 4, max_positions = 512;
  int64_t classes = 0;
  std::vector<std::string> class_names;
};
BuiltModel build_text_model(const TextModelShape& shape, uint64_t seed);

// A small model for the cluttered set (56×56, patch 4): arch vim (middle cls token) or vit (DeiT-style, cls first,
// MLP 4D; heads 0: max(1, width / 32)).
BuiltModel build_cluttered_model(const std::string& arch, int64_t width, int64_t depth, int64_t heads,
                                 int64_t classes, uint64_t seed);

}  // namespace ha
