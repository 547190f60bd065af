// hattn eval perturbation|segmentation|accuracy|merge: the evaluation protocols (docs/definitions.md §7) over a data set.
// Default data: the first 1,000 cluttered Fashion-MNIST test images (with ground-truth masks). The paper's data:
// ImageNet val in its layouts (--images, with --labels / --synsets) and ImageNet-Segmentation (--mat
// gtsegs_ijcv.mat, or --images with NAME_mask.png masks). --shard i/n evaluates every n-th image from i;
// `eval merge` sums the shards' counts.csv.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "apps/common.h"
#include "apps/provenance.h"
#include "models/cluttered.h"
#include "models/eval_data.h"
#include "models/preprocess.h"
#include "xai/evaluate.h"

namespace ha::app {

int run_eval(int argc, char** argv) {
  if (argc < 1 || std::string(argv[0]).rfind("--", 0) == 0)
    throw UsageError("hattn eval: expected perturbation, segmentation, accuracy or merge (see hattn eval <kind> --help)");
  const std::string kind = argv[0];
  if (kind == "merge") {
    Args args("eval merge", "Sum the counts.csv of several shards and write the reports.");
    args.option("inputs", "", "comma list of shard output folders", true).option("out", "out/eval", "output folder");
    if (!args.parse(argc - 1, argv + 1)) return 0;
    xai::EvalCounts total;
    for (const std::string& dir : split_list(args.get("inputs"))) {
      const xai::EvalCounts shard = xai::EvalCounts::load_csv(dir + "/counts.csv");
      HATTN_CHECK_INPUT(shard.progress.run.empty() || shard.progress.done == shard.progress.total, "'", dir,
                        "' is an unfinished shard (", shard.progress.done, " of ", shard.progress.total,
                        " images): run its command again to finish it, then merge");
      total.merge(shard);
    }
    make_output_dir(args.get("out"));
    total.save_csv(args.get("out") + "/counts.csv");
    std::cout << xai::write_reports(total, args.get("out"), "Merged evaluation",
                                    merged_provenance(split_list(args.get("inputs"))));
    return 0;
  }
  if (kind != "perturbation" && kind != "segmentation" && kind != "accuracy")
    throw UsageError("hattn eval: unknown kind '" + kind + "' (perturbation, segmentation, accuracy or merge)");
  Args args("eval " + kind, "Evaluate explanation methods (docs/definitions.md §7) on a data set.");
  add_checkpoint_options(args);
  args.option("data", ClutteredFashion::default_dir(), "Fashion-MNIST folder (the cluttered test set, the default data)")
      .option("images", "", "instead: a folder of images, either ImageFolder (one sub-folder per class, sorted = class "
                            "index) or flat with --labels; for segmentation each image's mask beside it as NAME_mask.png")
      .option("labels", "", "with a flat --images: lines 'file class', or Kaggle's LOC_val_solution.csv with --synsets")
      .option("synsets", "", "with a LOC_val_solution.csv: LOC_synset_mapping.txt (line k names class k's synset)")
      .option("mat", "", "segmentation: ImageNet-Segmentation's gtsegs_ijcv.mat (MATLAB v7.3; needs HDF5)")
      .option("preprocess", "squash", "crop | vim-eval | squash (folder images only; Chefer's protocol squashes)")
      .option("limit", "", "number of images (default: 1000 of the cluttered set, every image of --images or --mat)")
      .option("shard", "0/1", "i/n: evaluate images i, i+n, i+2n, ...")
      .option("max-images", "0", "stop after N images in this run (0: run to the end); the same command continues")
      .option("batch", "1", "images per explanation pass (one forward and backward over the batch; same results)")
      .option("methods", "all", "all, or a comma list like raw:official,attr:exact,unified,saliency")
      .option("out", "out/eval/" + kind, "output folder (results.md, results.json, CSV, SVG curves, counts.csv)");
  args.option("perturb", "black", "perturbation: what a removed pixel becomes: black | blur (Gaussian, sigma = patch/2) | "
                                   "mean (the normalisation's mean colour)");
  add_ablation_options(args);
  if (!args.parse(argc - 1, argv + 1)) return 0;
  const std::unique_ptr<xai::Explainable> model = load_model(args);
  const xai::FamilyInfo& f = model->info();
  require_images(f, args.get("checkpoint"));
  const int64_t img_size = f.img_size;
  // the family's methods and variants ("all", or those named); accuracy explains nothing
  std::vector<xai::EvalMethod> methods =
      kind == "accuracy" ? std::vector<xai::EvalMethod>{} : xai::parse_eval_methods(f, args.get("methods"));
  check_family_options(args, f, {"aggregate", "discard", "clamp"});
  const xai::Ablation ablation = ablation_options(args);
  for (xai::EvalMethod& m : methods) m.ablation = ablation;
  int64_t shard = 0, shards = 1;
  {
    const std::string s = args.get("shard");
    if (std::sscanf(s.c_str(), "%lld/%lld", reinterpret_cast<long long*>(&shard), reinterpret_cast<long long*>(&shards)) != 2 ||
        shards < 1 || shard < 0 || shard >= shards)
      throw UsageError("--shard expects i/n with 0 <= i < n, got '" + s + "'");
  }
  EvalDataSpec spec;
  spec.cluttered_dir = args.get("data");
  spec.images = args.get("images");
  spec.labels = args.get("labels");
  spec.synsets = args.get("synsets");
  spec.mat = args.get("mat");
  spec.preprocess = parse_preprocess(args.get("preprocess"));
  spec.segmentation = kind == "segmentation";
  spec.input_size = img_size;
  const EvalData data(spec);
  const int64_t available = data.size();
  const int64_t limit = args.has("limit") ? args.get_int("limit") : (data.is_cluttered() ? 1000 : available);
  if (limit <= 0) throw UsageError("--limit must be positive");
  HATTN_CHECK_INPUT(available > 0, "the data set holds no images");
  const int64_t n = std::min(limit, available);

  const std::string out = args.get("out");
  make_output_dir(out);
  // Resuming: DIR/counts.csv records, with the counts so far, which run it belongs to and the next image; a
  // killed run started again with the same options continues there (no image is counted twice).
  std::string run = str(kind, " ", args.get("checkpoint"), " methods=", args.get("methods"), " data=", data.describe(),
                        " shard=", shard, "/", shards, " n=", n);
  const xai::Fill fill = xai::parse_fill(args.get("perturb"));
  if (fill != xai::Fill::Black && kind != "perturbation") throw UsageError("--perturb applies to eval perturbation");
  if (fill != xai::Fill::Black) run += str(" perturb=", xai::fill_name(fill));
  if (!ablation.is_default())  // (a default run's record is as before)
    run += str(" ablation=", xai::aggregate_name(ablation.aggregate), "/", ablation.discard, "/", xai::clamp_name(ablation.clamp));
  std::replace(run.begin(), run.end(), '"', '\'');  // it is stored quoted
  xai::EvalCounts counts;
  const std::string saved = out + "/counts.csv";
  if (std::filesystem::exists(saved)) {
    xai::EvalCounts before = xai::EvalCounts::load_csv(saved);
    if (before.progress.run == run) {
      counts = before;
      std::fprintf(stderr, "resuming: %lld of this shard's %lld images are done\n",
                   static_cast<long long>(counts.progress.done), static_cast<long long>(counts.progress.total));
    } else {
      std::fprintf(stderr, "'%s' held the counts of another run; starting over\n", out.c_str());
    }
  }
  counts.progress.run = run;
  const int64_t mine = xai::shard_size(n, shard, shards);
  counts.progress.total = mine;
  auto t0 = std::chrono::steady_clock::now();
  const int64_t resumed = counts.progress.done, max_images = args.get_int("max-images"), batch = args.get_int("batch");
  if (max_images < 0) throw UsageError("--max-images must be >= 0");
  if (batch < 1) throw UsageError("--batch must be >= 1");
  // this shard's images k = resumed, resumed + 1, ... (global index shard + k * shards), a batch at a time
  const int64_t stop = max_images > 0 ? std::min(mine, resumed + max_images) : mine;
  xai::run_protocol(*model, data, xai::parse_protocol(kind), methods, shard, shards, stop, batch, counts, [&] {
    counts.save_csv(saved);  // every batch: a killed run loses at most the batch in flight
    const int64_t k1 = counts.progress.done, now = k1 - resumed;
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "\reval %s: %lld/%lld images  %.2f s/image  ETA %.0f s   ", kind.c_str(),
                 static_cast<long long>(k1), static_cast<long long>(mine), el / now, el / now * (mine - k1));
    return true;
  }, fill);
  std::fprintf(stderr, "\n");
  counts.save_csv(saved);
  const int64_t done = counts.progress.done;
  if (done < mine)
    std::fprintf(stderr, "stopped after --max-images: %lld of %lld images done; run the same command to continue\n",
                 static_cast<long long>(done), static_cast<long long>(mine));
  std::cout << xai::write_reports(counts, out, str(kind, " on ", done, " images (", args.get("checkpoint"), ")"),
                                  record_provenance(out, args.get("checkpoint")));
  return 0;
}

}  // namespace ha::app
