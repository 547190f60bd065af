// hattn influence: the average influence of each patch on the cls token, per layer, over a data set: the
// mean over images and channels of |F[cls, :]| (the exact two-direction cls row), as a G×G map per layer.
#include <cstdio>
#include <filesystem>

#include "apps/common.h"
#include "models/cluttered.h"
#include "models/preprocess.h"
#include "ops/ops.h"
#include "tensor/npy.h"
#include "xai/hidden_attention.h"
#include "xai/render.h"

namespace ha::app {

int run_influence(int argc, char** argv) {
  Args args("influence", "Average cls-row influence map per layer over cluttered test images.");
  add_checkpoint_options(args);
  args.option("data", ClutteredFashion::default_dir(), "Fashion-MNIST folder")
      .option("layers", "first,last", "comma list of layer indices, or first,last")
      .option("limit", "200", "number of test images")
      .option("out", "out/influence", "output folder");
  if (!args.parse(argc, argv)) return 0;
  const std::unique_ptr<xai::Explainable> model = load_model(args);
  const xai::FamilyInfo& f = model->info();
  require_images(f, args.get("checkpoint"));
  std::vector<int64_t> layers;
  for (const std::string& s : split_list(args.get("layers"))) {
    const int64_t l = s == "first" ? 0 : s == "last" ? f.layers - 1 : std::stoll(s);
    if (l < 0 || l >= f.layers) throw UsageError(str("layer ", l, " is outside [0, ", f.layers, ")"));
    layers.push_back(l);
  }
  ClutteredFashion data(args.get("data"), "test", 1);
  if (f.img_size != ClutteredFashion::kCanvas)
    throw UsageError(str("the cluttered set is ", ClutteredFashion::kCanvas, "x", ClutteredFashion::kCanvas,
                         " but the model takes ", f.img_size, "x", f.img_size));
  const int64_t n = std::min(args.get_int("limit"), data.size()), cls = f.default_query, G = f.layout.shape[0];
  if (cls < 0) throw UsageError("influence needs a model with a cls token");
  const xai::TraceOptions forward_only = xai::TraceOptions::forward_only();
  std::vector<Tensor> acc(layers.size());
  for (int64_t i = 0; i < n; ++i) {
    const xai::Trace t =
        std::move(model->trace(normalize_image(data.get(i, 0).image, f.normalization), {}, forward_only)[0]);
    for (size_t k = 0; k < layers.size(); ++k) {
      Tensor row = mean(abs(t.mixers[layers[k]]->rows(cls, xai::RowKind::Exact)), {0});  // (L)
      acc[k] = acc[k].defined() ? add(acc[k], row) : row;
    }
    std::fprintf(stderr, "\rinfluence: %lld/%lld images", static_cast<long long>(i + 1), static_cast<long long>(n));
  }
  std::fprintf(stderr, "\n");
  const std::string dir = args.get("out");
  make_output_dir(dir);
  std::vector<xai::Tile> tiles;
  for (size_t k = 0; k < layers.size(); ++k) {
    Tensor v = mul(acc[k], 1.0 / double(n));
    const std::vector<float> tokens = v.to(DType::F32).to_vector<float>();
    std::vector<float> cells;  // the patch tokens, as the map's grid
    for (int64_t t : f.layout.patch_tokens) cells.push_back(tokens[t]);
    Tensor grid = Tensor::from_vector(cells, {G, G});
    save_npy(str(dir, "/influence_l", layers[k], ".npy"), grid);
    Image8 pic;
    pic.width = pic.height = G;
    std::vector<double> g = minmax_normalize(grid.to(DType::F64)).to_vector<double>();
    for (double x : g) {
      const xai::Rgb col = xai::viridis(x);
      pic.rgb.insert(pic.rgb.end(), {col.r, col.g, col.b});
    }
    tiles.push_back({xai::upscale_nearest(pic, std::max<int64_t>(1, 224 / G)), str("layer ", layers[k])});
  }
  save_png(dir + "/influence.png", xai::grid(tiles, static_cast<int64_t>(tiles.size()),
                                             str("mean |cls row| over ", n, " images (min-max, viridis)")));
  std::fprintf(stderr, "wrote %s/influence.png and influence_l*.npy\n", dir.c_str());
  return 0;
}

}  // namespace ha::app
