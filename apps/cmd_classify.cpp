// hattn classify: top-k classes of one image (docs/definitions.md §8).
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "apps/common.h"
#include "models/io/json.h"
#include "models/preprocess.h"
#include "tensor/npy.h"

namespace ha::app {

// The family's configuration as JSON, with the preprocessing the image got.
static std::string config_json(const xai::FamilyInfo& f, const std::string& preprocess) {
  std::string out = "{";
  for (const auto& [key, value] : f.config_json) out += str(out.size() > 1 ? ", " : "", json::quote(key), ": ", value);
  return out + str(out.size() > 1 ? ", " : "", "\"preprocess\": ", json::quote(preprocess), "}");
}

int run_classify(int argc, char** argv) {
  Args args("classify", "Classify one image with a Vision Mamba or ViT/DeiT checkpoint and print the top-k classes.");
  add_checkpoint_options(args);
  args.option("image", "", "input image (JPEG, PNG, BMP, ...; any size)", true)
      .option("topk", "5", "how many classes to print")
      .option("preprocess", "crop", "crop | vim-eval | squash (see README)")
      .flag("json", "print JSON: {\"top\": [{class, label, logit, prob}], \"config\": {...}}")
      .option("logits-npy", "", "also write the logits, float32 [1, classes], to this .npy file");
  if (!args.parse(argc, argv)) return 0;
  const int64_t topk = args.get_int("topk");
  if (topk <= 0) throw UsageError("--topk must be positive");
  const Preprocess mode = parse_preprocess(args.get("preprocess"));
  const std::unique_ptr<xai::Explainable> model = load_model(args);
  const xai::FamilyInfo& f = model->info();
  require_images(f, args.get("checkpoint"));
  Image8 img = preprocess_image(load_image(args.get("image")), f.img_size, mode);
  const Tensor logits = model->logits(normalize_image(img, f.normalization));
  if (args.has("logits-npy")) save_npy(args.get("logits-npy"), logits);
  const std::vector<float> z = logits.to_vector<float>();
  if (args.has("json")) {
    std::cout << "{\"top\": [" << top_classes_json(z, f.class_names, topk)
              << "], \"config\": " << config_json(f, preprocess_name(mode)) << "}\n";
    return 0;
  }
  std::printf("%s (%s preprocessing)\n", f.describe.c_str(), preprocess_name(mode));
  print_top_classes(z, f.class_names, topk);
  return 0;
}

}  // namespace ha::app
