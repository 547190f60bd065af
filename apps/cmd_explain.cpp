// hattn explain: explanation maps of one image (docs/definitions.md §5, §8): DIR/<method>.npy (float32 [G, G]),
// DIR/<method>.png (JET overlay) and DIR/panel.png when several methods ran. Any image family; which methods,
// variants and options it takes comes from its FamilyInfo.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "apps/common.h"
#include "models/preprocess.h"
#include "ops/ops.h"
#include "tensor/npy.h"
#include "xai/explain.h"
#include "xai/render.h"

namespace ha::app {

int run_explain(int argc, char** argv) {
  Args args("explain",
            "Explain the classification of one image: Vim (hidden attention) or ViT (softmax attention), with baselines.");
  add_checkpoint_options(args);
  args.option("image", "", "input image", true)
      .option("method", "all", "raw | rollout | attr | unified | lrp (MambaLRP) | random | saliency | gradxinput | all, "
                               "or a comma list; "
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
  add_ablation_options(args);
  if (!args.parse(argc, argv)) return 0;
  const std::unique_ptr<xai::Explainable> model = load_model(args);
  const xai::FamilyInfo& f = model->info();
  require_images(f, args.get("checkpoint"));
  check_family_options(args, f, {"variant", "query", "aggregate", "discard", "clamp"});
  if (f.methods.empty()) throw InputError(f.not_explainable);
  std::vector<xai::Method> methods;
  if (args.get("method") == "all")
    for (const xai::MethodSpec& spec : f.methods) methods.push_back(spec.method);
  else
    for (const std::string& m : split_list(args.get("method"))) methods.push_back(xai::parse_method(m));
  xai::ExplainOptions opt;
  if (args.has("variant")) opt.variant = xai::parse_variant(args.get("variant"));
  for (xai::Method m : methods) xai::resolve_variant(f, m, opt.variant);  // refuses what the family lacks, up front
  if (args.has("start-layer")) opt.start_layer = args.get_int("start-layer");
  opt.seed = static_cast<uint64_t>(args.get_int("seed"));
  opt.ablation = ablation_options(args);
  if (args.has("query")) {
    opt.query = args.get_int("query");
    if (opt.query < 0) throw UsageError("--query must be a token index >= 0");
    for (xai::Method m : methods)
      if (xai::resolve_variant(f, m, opt.variant) == xai::Variant::Official)
        throw UsageError("--query needs --variant exact (the released code reads the cls row only); unified takes it too");
    if (opt.query >= f.tokens) throw UsageError(str("--query ", opt.query, " is outside the ", f.tokens, " tokens"));
  }
  if (opt.start_layer >= f.layers || (args.has("start-layer") && opt.start_layer < 0))
    throw UsageError(str("--start-layer ", opt.start_layer, " is outside [0, ", f.layers, ")"));
  const int64_t target = args.has("class") ? args.get_int("class") : -1;
  if (target >= f.num_classes || (args.has("class") && target < 0))
    throw UsageError(str("--class ", target, " is outside [0, ", f.num_classes, ")"));
  Image8 img = preprocess_image(load_image(args.get("image")), f.img_size, parse_preprocess(args.get("preprocess")));
  const std::string out = args.get("out");
  make_output_dir(out);

  auto t0 = std::chrono::steady_clock::now();
  xai::TraceOptions to = xai::trace_options(f, methods, opt.variant);
  to.gradients = true;  // the pictures are drawn over trace.input, which the gradient pass fills
  const xai::Trace trace = std::move(model->trace(normalize_image(img, f.normalization), {{target}}, to)[0]);
  auto secs = [](auto a) { return std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count(); };
  const std::vector<std::string>& names = f.class_names;
  const double prob = softmax(trace.logits, 1).at({0, trace.target});
  std::fprintf(stderr, "explain: class %lld (%s), p = %.3f; forward + backward %.2f s\n",
               static_cast<long long>(trace.target), names[trace.target].c_str(), prob, secs(t0));

  const int64_t view = std::max<int64_t>(1, 224 / f.img_size);  // small models: enlarge the pictures
  const Tensor input = trace.input.unsqueeze(0);
  std::vector<xai::Tile> tiles{{xai::upscale_nearest(img, view), "input"}};
  // a family whose methods come in variants names the one shown on the panel
  const bool variants = std::any_of(f.methods.begin(), f.methods.end(), [](const xai::MethodSpec& s) { return s.variants.size() > 1; });
  for (size_t k = 0; k < methods.size(); ++k) {
    const xai::Method meth = methods[k];
    auto t1 = std::chrono::steady_clock::now();
    Tensor map = xai::explain(trace, f, meth, opt);
    const std::string base = out + "/" + xai::method_name(meth);
    save_npy(base + ".npy", map);
    Image8 pic = xai::overlay(input, map);
    save_png(base + ".png", pic);
    const std::string caption = xai::method_label(f, meth, xai::resolve_variant(f, meth, opt.variant));
    tiles.push_back({xai::upscale_nearest(pic, view), caption});
    std::fprintf(stderr, "[%zu/%zu] %-28s %.2f s  -> %s.npy, .png\n", k + 1, methods.size(), caption.c_str(), secs(t1),
                 base.c_str());
  }
  if (methods.size() > 1) {
    const std::string& name = names[trace.target];
    save_png(out + "/panel.png",
             xai::grid(tiles, std::min<int64_t>(4, tiles.size()),
                       str(name == str("class ", trace.target) ? name : str("class ", trace.target, ": ", name),
                           "  p=", static_cast<int>(prob * 1000) / 1000.0,
                           variants ? "  variant " + args.get("variant") : "  " + f.name)));
    std::fprintf(stderr, "panel -> %s/panel.png\n", out.c_str());
  }
  return 0;
}

}  // namespace ha::app
