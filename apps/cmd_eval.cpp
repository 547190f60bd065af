// hattn eval perturbation|segmentation|accuracy|merge: the evaluation protocols (docs/definitions.md §7) over a data set.
// Default data: the first 1,000 cluttered Fashion-MNIST test images (with ground-truth masks). An
// ImageNet-style folder (--images DIR --labels FILE, lines "file class") works for perturbation/accuracy.
// --shard i/n evaluates every n-th image from i; `eval merge` sums the shards' counts.csv.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "apps/common.h"
#include "models/cluttered.h"
#include "models/preprocess.h"
#include "xai/evaluate.h"

namespace ha::app {

namespace {

struct Item {
  Image8 image;
  int64_t label;
  std::vector<uint8_t> mask;
};

std::vector<xai::EvalMethod> parse_methods(const std::string& s) {
  if (s == "all") return xai::all_eval_methods();
  std::vector<xai::EvalMethod> out;
  for (const std::string& one : split_list(s)) {  // e.g. attr:exact
    const size_t colon = one.find(':');
    xai::EvalMethod m{xai::parse_method(one.substr(0, colon)), xai::Variant::Official};
    if (colon != std::string::npos) m.variant = xai::parse_variant(one.substr(colon + 1));
    out.push_back(m);
  }
  return out;
}

}  // namespace

int run_eval(int argc, char** argv) {
  if (argc < 1 || std::string(argv[0]).rfind("--", 0) == 0)
    throw UsageError("hattn eval: expected perturbation, segmentation, accuracy or merge (see hattn eval <kind> --help)");
  const std::string kind = argv[0];
  if (kind == "merge") {
    Args args("eval merge", "Sum the counts.csv of several shards and write the reports.");
    args.option("inputs", "", "comma list of shard output folders", true).option("out", "out/eval", "output folder");
    if (!args.parse(argc - 1, argv + 1)) return 0;
    xai::EvalCounts total;
    for (const std::string& dir : split_list(args.get("inputs"))) total.merge(xai::EvalCounts::load_csv(dir + "/counts.csv"));
    make_output_dir(args.get("out"));
    total.save_csv(args.get("out") + "/counts.csv");
    std::cout << xai::write_reports(total, args.get("out"), "Merged evaluation");
    return 0;
  }
  if (kind != "perturbation" && kind != "segmentation" && kind != "accuracy")
    throw UsageError("hattn eval: unknown kind '" + kind + "' (perturbation, segmentation, accuracy or merge)");
  Args args("eval " + kind, "Evaluate explanation methods (docs/definitions.md §7) on a data set.");
  add_checkpoint_options(args);
  args.option("data", ClutteredFashion::default_dir(), "Fashion-MNIST folder (the cluttered test set)")
      .option("images", "", "instead: a folder of images (ImageNet-style)")
      .option("labels", "", "with --images: a file of lines 'filename class'")
      .option("preprocess", "squash", "crop | vim-eval | squash (folder images only; Chefer's protocol squashes)")
      .option("limit", "1000", "number of images")
      .option("shard", "0/1", "i/n: evaluate images i, i+n, i+2n, ...")
      .option("methods", "all", "all, or a comma list like raw:official,attr:exact,unified,saliency")
      .option("out", "out/eval/" + kind, "output folder (results.md, CSV, SVG curves, counts.csv)");
  if (!args.parse(argc - 1, argv + 1)) return 0;
  LoadedModel m = load_model(args);
  const VimConfig& c = m.model->config();
  const std::vector<xai::EvalMethod> methods = parse_methods(args.get("methods"));
  int64_t shard = 0, shards = 1;
  {
    const std::string s = args.get("shard");
    if (std::sscanf(s.c_str(), "%lld/%lld", reinterpret_cast<long long*>(&shard), reinterpret_cast<long long*>(&shards)) != 2 ||
        shards < 1 || shard < 0 || shard >= shards)
      throw UsageError("--shard expects i/n with 0 <= i < n, got '" + s + "'");
  }
  const int64_t limit = args.get_int("limit");
  if (limit <= 0) throw UsageError("--limit must be positive");

  // the data set, as a function from index to item
  std::unique_ptr<ClutteredFashion> cluttered;
  std::vector<std::pair<std::string, int64_t>> files;
  if (args.has("images")) {
    if (kind == "segmentation") throw UsageError("segmentation needs masks: use the cluttered set (no --images)");
    if (!args.has("labels")) throw UsageError("--images needs --labels FILE with lines 'filename class'");
    require_readable_file(args.get("labels"), "labels file");
    std::ifstream lf(args.get("labels"));
    std::string name;
    int64_t label;
    while (lf >> name >> label) files.emplace_back(args.get("images") + "/" + name, label);
  } else {
    cluttered = std::make_unique<ClutteredFashion>(args.get("data"), "test", 1);
    if (c.img_size != ClutteredFashion::kCanvas)
      throw UsageError(str("the cluttered set is ", ClutteredFashion::kCanvas, "x", ClutteredFashion::kCanvas,
                           " but the model takes ", c.img_size, "x", c.img_size, "; pass --images/--labels"));
  }
  const int64_t available = cluttered ? cluttered->size() : static_cast<int64_t>(files.size());
  const int64_t n = std::min(limit, available);
  const Preprocess mode = parse_preprocess(args.get("preprocess"));
  auto item = [&](int64_t i) -> Item {
    if (cluttered) {
      ClutteredSample s = cluttered->get(i, 0);
      return {s.image, s.label, s.mask};
    }
    return {preprocess_image(load_image(files[i].first), c.img_size, mode), files[i].second, {}};
  };

  const std::string out = args.get("out");
  make_output_dir(out);
  xai::EvalCounts counts;
  auto t0 = std::chrono::steady_clock::now();
  int64_t done = 0, mine = 0;
  for (int64_t i = shard; i < n; i += shards) ++mine;
  for (int64_t i = shard; i < n; i += shards) {
    Item it = item(i);
    if (kind == "accuracy") {
      NoGradGuard ng;
      ++counts.images;
      counts.correct += argmax(m.model->forward(normalize_image(it.image)).logits.to(Device::cpu()), 1).item() == it.label;
    } else {
      xai::evaluate_image(*m.model, it.image, it.label, kind == "segmentation" ? it.mask : std::vector<uint8_t>{},
                          methods, kind == "perturbation", counts);
    }
    ++done;
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "\reval %s: %lld/%lld images  %.2f s/image  ETA %.0f s   ", kind.c_str(),
                 static_cast<long long>(done), static_cast<long long>(mine), el / done, el / done * (mine - done));
  }
  std::fprintf(stderr, "\n");
  counts.save_csv(out + "/counts.csv");
  std::cout << xai::write_reports(counts, out, str(kind, " on ", done, " images (", args.get("checkpoint"), ")"));
  return 0;
}

}  // namespace ha::app
