// hattn attention: one layer's mixer matrices (docs/definitions.md §4, §8) for any image family. Vision Mamba:
// the hidden attention, DIR/attn_l<l>_<direction>.npy (float32 [B − A, L, L], original token order); a ViT / DeiT:
// one block's softmax attention, DIR/attn_l<l>.npy float32 [H, T, T]; with a picture of their mean and the first ones.
#include <algorithm>

#include "apps/common.h"
#include "models/preprocess.h"
#include "ops/ops.h"
#include "tensor/npy.h"

namespace ha::app {

int run_attention(int argc, char** argv) {
  Args args("attention", "Write one layer's per-channel hidden attention matrices for one image.");
  add_checkpoint_options(args);
  args.option("image", "", "input image", true)
      .option("layer", "", "layer index, 0-based", true)
      .option("direction", "sum", "fwd | bwd | sum (forward + backward, original token order)")
      .option("channels", "", "half-open channel range A:B (default: all)")
      .option("preprocess", "crop", "crop | vim-eval | squash")
      .option("first-k", "0", "picture only: crop the matrices to the first K tokens (0: all)")
      .flag("mean", "write only the channels' (heads') mean, attn_l<l>[_<direction>]_mean.npy float32 [1, L, L]")
      .option("out", "out/attention", "output folder");
  if (!args.parse(argc, argv)) return 0;
  const Preprocess mode = parse_preprocess(args.get("preprocess"));
  const std::unique_ptr<xai::Explainable> model = load_model(args);
  const xai::FamilyInfo& f = model->info();
  require_images(f, args.get("checkpoint"));
  check_family_options(args, f, {"direction", "channels"});
  const int64_t layer = args.get_int("layer");
  if (layer < 0 || layer >= f.layers) throw UsageError(str("--layer ", layer, " is outside [0, ", f.layers, ")"));
  const std::string part = args.has("direction") ? args.get("direction") : f.directions.empty() ? "" : f.directions.back();
  if (!part.empty() && std::find(f.directions.begin(), f.directions.end(), part) == f.directions.end())
    throw UsageError(str("unknown --direction '", part, "' (", join(f.directions, ", "), ")"));
  const int64_t first_k = args.get_int("first-k");
  if (first_k < 0) throw UsageError("--first-k must be >= 0");
  const int64_t L = f.tokens;
  const auto [a, b] = channel_range(args, f.mixer_units);
  const double gib = double(b - a) * L * L * 4 / (1 << 30);
  if (gib > 8 && !args.has("mean"))
    throw UsageError(str("--channels ", a, ":", b, " would write ", gib, " GiB; choose fewer channels, or --mean"));
  Image8 img = preprocess_image(load_image(args.get("image")), f.img_size, mode);
  const xai::TraceOptions forward_only = xai::TraceOptions::forward_only();
  const xai::Trace trace = std::move(model->trace(normalize_image(img, f.normalization), {}, forward_only)[0]);
  write_attention(*model, trace, layer, part, a, b, first_k, args.get("out"), args.has("mean"));
  return 0;
}

}  // namespace ha::app
