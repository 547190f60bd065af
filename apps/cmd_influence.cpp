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
  LoadedModel m = load_model(args);
  const VimConfig& c = m.model->config();
  std::vector<int64_t> layers;
  for (const std::string& s : split_list(args.get("layers"))) {
    const int64_t l = s == "first" ? 0 : s == "last" ? c.depth - 1 : std::stoll(s);
    if (l < 0 || l >= c.depth) throw UsageError(str("layer ", l, " is outside [0, ", c.depth, ")"));
    layers.push_back(l);
  }
  ClutteredFashion data(args.get("data"), "test", 1);
  const int64_t n = std::min(args.get_int("limit"), data.size()), cls = c.cls_index(), G = c.grid();
  if (cls < 0) throw UsageError("influence needs a model with a cls token");
  std::vector<Tensor> acc(layers.size());
  for (int64_t i = 0; i < n; ++i) {
    VimOutput out;
    {
      NoGradGuard ng;
      out = m.model->forward(normalize_image(data.get(i, 0).image), {true, false});
    }
    for (size_t k = 0; k < layers.size(); ++k) {
      Tensor row = mean(abs(xai::cls_rows(out.traces[layers[k]], 0, cls, xai::RowKind::Exact).to(Device::cpu())), {0});  // (L)
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
    Tensor grid = concat({v.narrow(0, 0, cls), v.narrow(0, cls + 1, v.size(0) - cls - 1)}, 0).reshape({G, G});
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
