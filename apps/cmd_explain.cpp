// hattn explain: explanation maps of one image (docs/definitions.md §5, §8): DIR/<method>.npy (float32 [G, G]),
// DIR/<method>.png (JET overlay) and DIR/panel.png when several methods ran.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "apps/common.h"
#include "models/class_names.h"
#include "models/preprocess.h"
#include "ops/ops.h"
#include "tensor/npy.h"
#include "xai/explain.h"
#include "xai/render.h"
#include "xai/vit_explain.h"

namespace ha::app {

// The same for a ViT / DeiT checkpoint: its methods (raw, rollout, gae and the baselines; docs/definitions.md §5b).
static int explain_vit_image(const Args& args, const LoadedModel& m, const std::vector<xai::Method>& methods) {
  const VitConfig& c = m.vit->config();
  if (args.get("variant") != "official")
    throw UsageError("--variant applies to Vision Mamba only (a ViT's methods have one definition each)");
  HATTN_CHECK_INPUT(!c.distilled, "explanations of distilled DeiT checkpoints are not supported (their maps drop two "
                                  "prefix tokens and attr is undefined for them)");
  const int64_t start = args.has("start-layer") ? args.get_int("start-layer") : xai::vit_default_start_layer();
  if (start < 0 || start >= c.depth) throw UsageError(str("--start-layer ", start, " is outside [0, ", c.depth, ")"));
  const int64_t target = args.has("class") ? args.get_int("class") : -1;
  if (target >= c.num_classes || (args.has("class") && target < 0))
    throw UsageError(str("--class ", target, " is outside [0, ", c.num_classes, ")"));
  Image8 img = preprocess_image(load_image(args.get("image")), c.img_size, parse_preprocess(args.get("preprocess")));
  const std::string out = args.get("out");
  make_output_dir(out);
  const bool attr = std::find(methods.begin(), methods.end(), xai::Method::Attr) != methods.end();
  const xai::VitExplainContext ctx = xai::run_vit_explain_pass(*m.vit, normalize_image(img, m.normalization), target, attr);
  const std::vector<std::string> names = class_names_for(m.ckpt, c.num_classes);
  const double prob = softmax(ctx.logits, 1).at({0, ctx.target});
  std::fprintf(stderr, "explain (ViT): class %lld (%s), p = %.3f\n", static_cast<long long>(ctx.target),
               names[ctx.target].c_str(), prob);
  const int64_t view = std::max<int64_t>(1, 224 / c.img_size);
  std::vector<xai::Tile> tiles{{xai::upscale_nearest(img, view), "input"}};
  for (xai::Method meth : methods) {
    Tensor map = xai::explain_vit(ctx, meth, start, static_cast<uint64_t>(args.get_int("seed")));
    const std::string base = out + "/" + xai::method_name(meth);
    save_npy(base + ".npy", map);
    Image8 pic = xai::overlay(ctx.input, map);
    save_png(base + ".png", pic);
    tiles.push_back({xai::upscale_nearest(pic, view), xai::method_name(meth)});
    std::fprintf(stderr, "%-12s -> %s.npy, .png\n", xai::method_name(meth), base.c_str());
  }
  if (methods.size() > 1)
    save_png(out + "/panel.png", xai::grid(tiles, std::min<size_t>(4, tiles.size()),
                                           str(names[ctx.target], "  p=", static_cast<int>(prob * 1000) / 1000.0, "  ViT")));
  return 0;
}

int run_explain(int argc, char** argv) {
  Args args("explain",
            "Explain the classification of one image: Vim (hidden attention) or ViT (softmax attention), with baselines.");
  add_checkpoint_options(args);
  args.option("image", "", "input image", true)
      .option("method", "all", "raw | rollout | attr | unified | random | saliency | gradxinput | all, or a comma list; "
                               "a ViT: raw | rollout | attr (Transformer-Attribution) | gae | random | saliency | "
                               "gradxinput | all")
      .option("variant", "official", "official (the released code, quirks included) | exact (the full matrices)")
      .option("start-layer", "", "first layer aggregated (default: floor(15 * depth / 24); a ViT's rollout: 1)")
      .option("class", "", "class to explain (default: the predicted one)")
      .option("query", "", "Vim, exact variant and unified: read this token's attention row instead of cls' "
                           "(an index in the token sequence; cls = tokens // 2)")
      .option("preprocess", "crop", "crop | vim-eval | squash")
      .option("seed", "0", "seed of the random baseline")
      .option("out", "out/explain", "output folder");
  if (!args.parse(argc, argv)) return 0;
  std::vector<xai::Method> methods;
  if (args.get("method") != "all")
    for (const std::string& m : split_list(args.get("method"))) methods.push_back(xai::parse_method(m));
  xai::ExplainOptions opt;
  opt.variant = xai::parse_variant(args.get("variant"));
  if (args.has("start-layer")) opt.start_layer = args.get_int("start-layer");
  opt.seed = static_cast<uint64_t>(args.get_int("seed"));
  if (args.has("query")) {
    opt.query = args.get_int("query");
    if (opt.query < 0) throw UsageError("--query must be a token index >= 0");
    const bool unified_only = !methods.empty() && std::all_of(methods.begin(), methods.end(), [](xai::Method m) {
      return m == xai::Method::Unified || m == xai::Method::Random || m == xai::Method::Saliency ||
             m == xai::Method::GradXInput;
    });
    if (opt.variant == xai::Variant::Official && !unified_only)
      throw UsageError("--query needs --variant exact (the released code reads the cls row only); unified takes it too");
  }
  const int64_t target = args.has("class") ? args.get_int("class") : -1;
  const Preprocess mode = parse_preprocess(args.get("preprocess"));
  const std::string out = args.get("out");

  LoadedModel m = load_model(args, /*allow_vit=*/true);
  if (m.vit && args.has("query")) throw UsageError("--query applies to Vision Mamba only");
  if (m.vit) return explain_vit_image(args, m, methods.empty() ? xai::vit_methods() : methods);
  if (methods.empty()) methods = xai::all_methods();
  const VimConfig& c = m.model->config();
  if (opt.query >= c.num_tokens())
    throw UsageError(str("--query ", opt.query, " is outside the ", c.num_tokens(), " tokens"));
  if (opt.start_layer >= c.depth || (args.has("start-layer") && opt.start_layer < 0))
    throw UsageError(str("--start-layer ", opt.start_layer, " is outside [0, ", c.depth, ")"));
  if (target >= c.num_classes || (args.has("class") && target < 0))
    throw UsageError(str("--class ", target, " is outside [0, ", c.num_classes, ")"));
  Image8 img = preprocess_image(load_image(args.get("image")), c.img_size, mode);
  make_output_dir(out);

  auto t0 = std::chrono::steady_clock::now();
  xai::ExplainContext ctx = xai::run_explain_pass(*m.model, normalize_image(img), target);
  auto secs = [](auto a) { return std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count(); };
  const std::vector<std::string> names = class_names_for(m.ckpt, c.num_classes);
  std::vector<float> z = ctx.logits.to_vector<float>();
  const double prob = softmax(ctx.logits, 1).at({0, ctx.target});
  std::fprintf(stderr, "explain: class %lld (%s), p = %.3f; forward + backward %.2f s\n",
               static_cast<long long>(ctx.target), names[ctx.target].c_str(), prob, secs(t0));

  const int64_t view = std::max<int64_t>(1, 224 / c.img_size);  // small models: enlarge the pictures
  std::vector<xai::Tile> tiles{{xai::upscale_nearest(img, view), "input"}};
  for (size_t k = 0; k < methods.size(); ++k) {
    const xai::Method meth = methods[k];
    auto t1 = std::chrono::steady_clock::now();
    Tensor map = xai::explain(ctx, meth, opt);
    const std::string base = out + "/" + xai::method_name(meth);
    save_npy(base + ".npy", map);
    Image8 pic = xai::overlay(ctx.input, map);
    save_png(base + ".png", pic);
    const bool variant_applies = meth == xai::Method::Raw || meth == xai::Method::Rollout || meth == xai::Method::Attr;
    const std::string caption = str(xai::method_name(meth), variant_applies ? str(" (", xai::variant_name(opt.variant), ")") : "");
    tiles.push_back({xai::upscale_nearest(pic, view), caption});
    std::fprintf(stderr, "[%zu/%zu] %-28s %.2f s  -> %s.npy, .png\n", k + 1, methods.size(), caption.c_str(), secs(t1),
                 base.c_str());
  }
  if (methods.size() > 1) {
    save_png(out + "/panel.png",
             xai::grid(tiles, std::min<int64_t>(4, tiles.size()),
                       str(names[ctx.target] == str("class ", ctx.target) ? names[ctx.target] : str("class ", ctx.target, ": ", names[ctx.target]),
                           "  p=", static_cast<int>(prob * 1000) / 1000.0, "  variant ", xai::variant_name(opt.variant))));
    std::fprintf(stderr, "panel -> %s/panel.png\n", out.c_str());
  }
  return 0;
}

}  // namespace ha::app
