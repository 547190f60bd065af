// hattn similarity: oversmoothing per block (the paper's App. A; xai/similarity.h) for a Vision Mamba or a ViT,
// averaged over the images: one line per block, or JSON {"layers": [M_0, ...], "images": N}.
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "apps/common.h"
#include "models/preprocess.h"
#include "ops/ops.h"
#include "xai/similarity.h"

namespace ha::app {

int run_similarity(int argc, char** argv) {
  Args args("similarity", "Oversmoothing: per block, the mean cosine similarity between all pairs of tokens, averaged "
                          "over the images (Vision Mamba: the residual stream; ViT: the block output).");
  add_checkpoint_options(args);
  args.option("image", "", "one image")
      .option("images", "", "instead: a folder of images (sorted by name)")
      .option("limit", "100", "with --images: at most this many")
      .option("preprocess", "crop", "crop | vim-eval | squash")
      .flag("json", "print {\"layers\": [M_0, ...], \"images\": N}");
  if (!args.parse(argc, argv)) return 0;
  if (args.has("image") == args.has("images")) throw UsageError("give --image FILE or --images DIR");
  std::vector<std::string> files;
  if (args.has("image")) {
    files.push_back(args.get("image"));
  } else {
    const std::string dir = args.get("images");
    HATTN_CHECK_INPUT(std::filesystem::is_directory(dir), "--images '", dir, "' is not a folder");
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      const std::string ext = e.path().extension().string();
      if (e.is_regular_file() && (ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".JPEG" || ext == ".bmp"))
        files.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
    const int64_t limit = args.get_int("limit");
    if (limit <= 0) throw UsageError("--limit must be positive");
    if (static_cast<int64_t>(files.size()) > limit) files.resize(limit);
    HATTN_CHECK_INPUT(!files.empty(), "--images '", dir, "' holds no images");
  }
  const std::unique_ptr<xai::Explainable> model = load_model(args);
  const xai::FamilyInfo& f = model->info();
  require_images(f, args.get("checkpoint"));
  const Preprocess mode = parse_preprocess(args.get("preprocess"));
  std::vector<double> total;
  for (size_t k = 0; k < files.size(); ++k) {
    const Tensor input = normalize_image(preprocess_image(load_image(files[k]), f.img_size, mode), f.normalization);
    const std::vector<Tensor> streams = model->streams(input);
    const std::vector<double> s = xai::stream_similarity(streams);
    if (total.empty()) total.assign(s.size(), 0.0);
    for (size_t l = 0; l < s.size(); ++l) total[l] += s[l];
    if (files.size() > 1) std::fprintf(stderr, "\rsimilarity: %zu/%zu images ", k + 1, files.size());
  }
  if (files.size() > 1) std::fprintf(stderr, "\n");
  for (double& t : total) t /= double(files.size());
  if (args.has("json")) {
    std::printf("{\"layers\": [");
    for (size_t l = 0; l < total.size(); ++l) std::printf("%s%.6g", l ? ", " : "", total[l]);
    std::printf("], \"images\": %zu}\n", files.size());
  } else {
    std::printf("%s: mean pairwise cosine similarity of the tokens after each block (%zu image%s)\n",
                f.describe.c_str(), files.size(),
                files.size() == 1 ? "" : "s");
    for (size_t l = 0; l < total.size(); ++l) std::printf("block %2zu  %.4f\n", l, total[l]);
  }
  return 0;
}

}  // namespace ha::app
