// hattn classify: top-k classes of one image (docs/definitions.md §8).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <numeric>

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
  std::vector<float> z = logits.to_vector<float>();
  for (float v : z)
    HATTN_CHECK_INPUT(std::isfinite(v), "the model produced a non-finite logit (", v, "); the checkpoint is damaged");
  const float zmax = *std::max_element(z.begin(), z.end());
  double denom = 0;
  for (float v : z) denom += std::exp(double(v) - zmax);
  std::vector<int64_t> order(z.size());
  std::iota(order.begin(), order.end(), 0);
  const int64_t k = std::min<int64_t>(topk, static_cast<int64_t>(z.size()));
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
    return z[a] > z[b] || (z[a] == z[b] && a < b);
  });
  const std::vector<std::string>& names = f.class_names;
  if (args.has("json")) {
    std::string out = "{\"top\": [";
    for (int64_t i = 0; i < k; ++i) {
      const int64_t cls = order[i];
      char nums[96];
      std::snprintf(nums, sizeof nums, "\"logit\": %.9g, \"prob\": %.9g", z[cls], std::exp(double(z[cls]) - zmax) / denom);
      out += str(i ? ", " : "", "{\"class\": ", cls, ", \"label\": ", json::quote(names[cls]), ", ", nums, "}");
    }
    std::cout << out << "], \"config\": "
              << config_json(f, preprocess_name(mode))
              << "}\n";
    return 0;
  }
  std::printf("%s (%s preprocessing)\n", f.describe.c_str(), preprocess_name(mode));
  std::printf("%4s  %6s  %10s  %8s  %s\n", "rank", "class", "logit", "prob", "label");
  for (int64_t i = 0; i < k; ++i) {
    const int64_t cls = order[i];
    std::printf("%4lld  %6lld  %10.4f  %8.4f  %s\n", static_cast<long long>(i + 1), static_cast<long long>(cls), z[cls],
                std::exp(double(z[cls]) - zmax) / denom, names[cls].c_str());
  }
  return 0;
}

}  // namespace ha::app
