// hattn attention: one layer's hidden attention matrices (docs/definitions.md §4, §8): DIR/attn_l<l>_<direction>.npy
// (float32 [B − A, L, L], original token order) and a picture of the channel mean and the first channels. For a
// ViT / DeiT: one block's softmax attention, DIR/attn_l<l>.npy float32 [H, T, T].
#include <cstdio>
#include <filesystem>

#include "apps/common.h"
#include "models/preprocess.h"
#include "ops/ops.h"
#include "tensor/npy.h"
#include "xai/hidden_attention.h"
#include "xai/render.h"

namespace ha::app {

// A ViT / DeiT: the softmax attention of one block, DIR/attn_l<l>.npy float32 [H, T, T], and its picture.
static int vit_attention(const Args& args, const LoadedModel& m) {
  if (args.has("direction") || args.has("channels"))
    throw UsageError("--direction and --channels apply to Vision Mamba; a ViT block's attention has heads");
  const VitConfig& c = m.vit->config();
  const int64_t layer = args.get_int("layer");
  if (layer < 0 || layer >= c.depth) throw UsageError(str("--layer ", layer, " is outside [0, ", c.depth, ")"));
  Image8 img = preprocess_image(load_image(args.get("image")), c.img_size, parse_preprocess(args.get("preprocess")));
  Tensor A;
  {
    NoGradGuard ng;
    A = m.vit->forward(normalize_image(img, m.normalization)).attentions[layer].select(0, 0).to(Device::cpu()).contiguous();
  }
  const std::string folder = args.get("out");
  make_output_dir(folder);
  const std::string base = str(folder, "/attn_l", layer);
  save_npy(base + ".npy", A);
  const int64_t first_k = args.get_int("first-k");
  if (first_k < 0) throw UsageError("--first-k must be >= 0");
  const int64_t T = c.num_tokens(), shown = first_k > 0 ? std::min(first_k, T) : T;
  const int64_t cell = std::max<int64_t>(1, 200 / shown);
  std::vector<xai::Tile> tiles{{xai::matrix_picture(mean(A, {0}), first_k, cell), "mean of the heads"}};
  for (int64_t h = 0; h < std::min<int64_t>(15, c.heads); ++h)
    tiles.push_back({xai::matrix_picture(A.select(0, h), first_k, cell), str("head ", h)});
  save_png(base + ".png", xai::grid(tiles, 4, str("block ", layer, ", softmax attention, min-max, viridis")));
  std::fprintf(stderr, "attention: block %lld, %lld heads, %lld tokens -> %s.npy, .png\n", static_cast<long long>(layer),
               static_cast<long long>(c.heads), static_cast<long long>(T), base.c_str());
  return 0;
}

int run_attention(int argc, char** argv) {
  Args args("attention", "Write one layer's per-channel hidden attention matrices for one image.");
  add_checkpoint_options(args);
  args.option("image", "", "input image", true)
      .option("layer", "", "layer index, 0-based", true)
      .option("direction", "sum", "fwd | bwd | sum (forward + backward, original token order)")
      .option("channels", "", "half-open channel range A:B (default: all)")
      .option("preprocess", "crop", "crop | vim-eval | squash")
      .option("first-k", "0", "picture only: crop the matrices to the first K tokens (0: all)")
      .option("out", "out/attention", "output folder");
  if (!args.parse(argc, argv)) return 0;
  const xai::Direction dir = xai::parse_direction(args.get("direction"));
  const Preprocess mode = parse_preprocess(args.get("preprocess"));
  LoadedModel m = load_model(args, /*allow_vit=*/true);
  if (m.vit) return vit_attention(args, m);
  const VimConfig& c = m.model->config();
  const int64_t layer = args.get_int("layer");
  if (layer < 0 || layer >= c.depth) throw UsageError(str("--layer ", layer, " is outside [0, ", c.depth, ")"));
  const int64_t E = c.expand * c.d_model, L = c.num_tokens();
  const auto [a, b] = channel_range(args, E);
  const double gib = double(b - a) * L * L * 4 / (1 << 30);
  if (gib > 8) throw UsageError(str("--channels ", a, ":", b, " would need ", gib, " GiB; choose fewer channels"));
  Image8 img = preprocess_image(load_image(args.get("image")), c.img_size, mode);
  Tensor input = normalize_image(img);
  VimOutput out;
  {
    NoGradGuard ng;
    out = m.model->forward(input, {true, false});
  }
  Tensor M = xai::attention_matrices(out.traces[layer], dir, 0, a, b).to(Device::cpu()).to(DType::F32);
  const std::string folder = args.get("out");
  make_output_dir(folder);
  const std::string base = str(folder, "/attn_l", layer, "_", xai::direction_name(dir));
  save_npy(base + ".npy", M);
  // picture: the channel mean, then up to 15 channels, min-max |α| each
  const int64_t first_k = args.get_int("first-k");
  if (first_k < 0) throw UsageError("--first-k must be >= 0");
  const int64_t shown = first_k > 0 ? std::min(first_k, L) : L;
  const int64_t cell = std::max<int64_t>(1, 200 / shown);
  std::vector<xai::Tile> tiles{{xai::matrix_picture(mean(M, {0}), first_k, cell), str("mean of ", a, ":", b)}};
  for (int64_t k = 0; k < std::min<int64_t>(15, b - a); ++k)
    tiles.push_back({xai::matrix_picture(M.select(0, k), first_k, cell), str("channel ", a + k)});
  save_png(base + ".png", xai::grid(tiles, 4, str("layer ", layer, ", ", xai::direction_name(dir), ", abs(alpha) min-max, viridis")));
  std::fprintf(stderr, "attention: layer %lld %s channels %lld:%lld, %lld tokens -> %s.npy, .png\n",
               static_cast<long long>(layer), xai::direction_name(dir), static_cast<long long>(a),
               static_cast<long long>(b), static_cast<long long>(L), base.c_str());
  return 0;
}

}  // namespace ha::app
