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
#include "models/cluttered.h"
#include "models/io/gtsegs.h"
#include "models/preprocess.h"
#include "xai/evaluate.h"

namespace ha::app {

namespace {

struct Item {
  Image8 image;
  int64_t label;
  std::vector<uint8_t> mask;
};

std::vector<std::string> image_files_in(const std::string& dir, bool skip_masks) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::string ext = e.path().extension().string();
    for (char& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const std::string stem = e.path().stem().string();
    if (ext != ".png" && ext != ".jpg" && ext != ".jpeg" && ext != ".bmp") continue;
    if (skip_masks && stem.size() > 5 && stem.compare(stem.size() - 5, 5, "_mask") == 0) continue;
    out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The images of --images with their classes (-1: unknown, allowed for segmentation only), in the layouts
// ImageNet val comes in: ImageFolder (class = index of the sorted sub-folder), a flat folder with lines
// "file class", or a flat folder with Kaggle's LOC_val_solution.csv and LOC_synset_mapping.txt.
std::vector<std::pair<std::string, int64_t>> list_images(const std::string& dir, const std::string& labels,
                                                         const std::string& synsets, bool segmentation) {
  HATTN_CHECK_INPUT(std::filesystem::is_directory(dir), "--images '", dir, "' is not a folder");
  std::vector<std::pair<std::string, int64_t>> files;
  std::vector<std::string> classes;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.is_directory()) classes.push_back(e.path().filename().string());
  std::sort(classes.begin(), classes.end());
  if (!classes.empty() && labels.empty()) {  // ImageFolder
    for (size_t k = 0; k < classes.size(); ++k)
      for (const std::string& f : image_files_in(dir + "/" + classes[k], segmentation))
        files.emplace_back(f, static_cast<int64_t>(k));
  } else if (labels.empty()) {
    if (!segmentation) throw UsageError("a flat --images folder needs --labels (lines 'file class', or LOC_val_solution.csv)");
    for (const std::string& f : image_files_in(dir, true)) files.emplace_back(f, -1);
  } else if (labels.size() > 4 && labels.compare(labels.size() - 4, 4, ".csv") == 0) {  // Kaggle's layout
    if (synsets.empty()) throw UsageError("--labels " + labels + " (LOC_val_solution.csv) needs --synsets LOC_synset_mapping.txt");
    require_readable_file(synsets, "synset mapping");
    require_readable_file(labels, "labels file");
    std::map<std::string, int64_t> index;
    std::ifstream sf(synsets);
    for (std::string line; std::getline(sf, line);)
      if (!line.empty()) index.emplace(line.substr(0, line.find(' ')), static_cast<int64_t>(index.size()));
    std::ifstream lf(labels);
    std::string line;
    std::getline(lf, line);  // ImageId,PredictionString
    HATTN_CHECK_INPUT(line.rfind("ImageId,", 0) == 0, "'", labels, "' does not start with Kaggle's header ImageId,PredictionString");
    for (int64_t lineno = 2; std::getline(lf, line); ++lineno) {
      if (line.empty() || line.back() == '\r') line = line.substr(0, line.find('\r'));
      if (line.empty()) continue;
      const size_t comma = line.find(',');
      HATTN_CHECK_INPUT(comma != std::string::npos, "'", labels, "' line ", lineno, ": no comma");
      const std::string synset = line.substr(comma + 1, line.find(' ', comma) - comma - 1);
      const auto it = index.find(synset);
      HATTN_CHECK_INPUT(it != index.end(), "'", labels, "' line ", lineno, ": synset '", synset, "' is not in '", synsets, "'");
      files.emplace_back(dir + "/" + line.substr(0, comma) + ".JPEG", it->second);
    }
    std::sort(files.begin(), files.end());
  } else {
    require_readable_file(labels, "labels file");
    std::ifstream lf(labels);
    std::string name;
    int64_t label;
    while (lf >> name >> label) files.emplace_back(dir + "/" + name, label);
  }
  return files;
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
    for (const std::string& dir : split_list(args.get("inputs"))) {
      const xai::EvalCounts shard = xai::EvalCounts::load_csv(dir + "/counts.csv");
      HATTN_CHECK_INPUT(shard.progress.run.empty() || shard.progress.done == shard.progress.total, "'", dir,
                        "' is an unfinished shard (", shard.progress.done, " of ", shard.progress.total,
                        " images): run its command again to finish it, then merge");
      total.merge(shard);
    }
    make_output_dir(args.get("out"));
    total.save_csv(args.get("out") + "/counts.csv");
    std::cout << xai::write_reports(total, args.get("out"), "Merged evaluation");
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
  if (!args.parse(argc - 1, argv + 1)) return 0;
  const std::unique_ptr<xai::Explainable> model = load_model(args);
  const xai::FamilyInfo& f = model->info();
  require_images(f, args.get("checkpoint"));
  const int64_t img_size = f.img_size;
  // the family's methods and variants ("all", or those named); accuracy explains nothing
  const std::vector<xai::EvalMethod> methods =
      kind == "accuracy" ? std::vector<xai::EvalMethod>{} : xai::parse_eval_methods(f, args.get("methods"));
  int64_t shard = 0, shards = 1;
  {
    const std::string s = args.get("shard");
    if (std::sscanf(s.c_str(), "%lld/%lld", reinterpret_cast<long long*>(&shard), reinterpret_cast<long long*>(&shards)) != 2 ||
        shards < 1 || shard < 0 || shard >= shards)
      throw UsageError("--shard expects i/n with 0 <= i < n, got '" + s + "'");
  }
  const Preprocess mode = parse_preprocess(args.get("preprocess"));
  if (kind == "segmentation" && mode != Preprocess::Squash && (args.has("images") || args.has("mat")))
    throw UsageError("segmentation squashes images and masks to the input size (Chefer's protocol): use --preprocess squash");
  if (args.has("mat") && kind != "segmentation") throw UsageError("--mat holds segmentation data: use eval segmentation");
  if (args.has("mat") && args.has("images")) throw UsageError("--mat and --images are two data sets: pick one");

  // the data set, as a count and a function from index to item (image and mask at the model's input size)
  const int64_t n_in = img_size;
  int64_t available = 0;
  std::function<Item(int64_t)> item;
  std::unique_ptr<ClutteredFashion> cluttered;
  std::unique_ptr<GtSegsFile> mat;
  std::vector<std::pair<std::string, int64_t>> files;
  auto mask_at_input_size = [&](const std::vector<uint8_t>& mask, int64_t w, int64_t h) {
    return resize_nearest_like_pil(mask, w, h, n_in, n_in);
  };
  if (args.has("mat")) {
    mat = std::make_unique<GtSegsFile>(args.get("mat"));
    available = mat->size();
    item = [&](int64_t i) -> Item {
      SegmentationItem s = mat->item(i);
      return {preprocess_image(s.image, n_in, mode), -1, mask_at_input_size(s.mask, s.image.width, s.image.height)};
    };
  } else if (args.has("images")) {
    files = list_images(args.get("images"), args.get("labels"), args.get("synsets"), kind == "segmentation");
    available = static_cast<int64_t>(files.size());
    item = [&](int64_t i) -> Item {
      Item it{preprocess_image(load_image(files[i].first), n_in, mode), files[i].second, {}};
      if (kind == "segmentation") {
        const std::string& f = files[i].first;
        const Image8 mk = load_image(f.substr(0, f.find_last_of('.')) + "_mask.png");
        std::vector<uint8_t> plane(mk.width * mk.height);
        for (size_t p = 0; p < plane.size(); ++p) plane[p] = mk.rgb[p * 3] > 127;
        it.mask = mask_at_input_size(plane, mk.width, mk.height);
      }
      return it;
    };
  } else {
    cluttered = std::make_unique<ClutteredFashion>(args.get("data"), "test", 1);
    if (img_size != ClutteredFashion::kCanvas)
      throw UsageError(str("the cluttered set is ", ClutteredFashion::kCanvas, "x", ClutteredFashion::kCanvas,
                           " but the model takes ", img_size, "x", img_size, "; pass --images or --mat"));
    available = cluttered->size();
    item = [&](int64_t i) -> Item {
      ClutteredSample s = cluttered->get(i, 0);
      return {s.image, s.label, s.mask};
    };
  }
  const int64_t limit = args.has("limit") ? args.get_int("limit") : (cluttered ? 1000 : available);
  if (limit <= 0) throw UsageError("--limit must be positive");
  HATTN_CHECK_INPUT(available > 0, "the data set holds no images");
  const int64_t n = std::min(limit, available);

  const std::string out = args.get("out");
  make_output_dir(out);
  // Resuming: DIR/counts.csv records, with the counts so far, which run it belongs to and the next image; a
  // killed run started again with the same options continues there (no image is counted twice).
  std::string run = str(kind, " ", args.get("checkpoint"), " methods=", args.get("methods"), " data=",
                        args.has("mat") ? args.get("mat") : args.has("images") ? args.get("images") : args.get("data"),
                        " shard=", shard, "/", shards, " n=", n);
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
  int64_t mine = 0;
  for (int64_t i = shard; i < n; i += shards) ++mine;
  counts.progress.total = mine;
  auto t0 = std::chrono::steady_clock::now();
  const int64_t resumed = counts.progress.done, max_images = args.get_int("max-images"), batch = args.get_int("batch");
  if (max_images < 0) throw UsageError("--max-images must be >= 0");
  if (batch < 1) throw UsageError("--batch must be >= 1");
  // this shard's images k = resumed, resumed + 1, ... (global index shard + k * shards), a batch at a time
  const int64_t stop = max_images > 0 ? std::min(mine, resumed + max_images) : mine;
  for (int64_t k0 = resumed; k0 < stop; k0 += batch) {
    const int64_t k1 = std::min(stop, k0 + batch);
    std::vector<Image8> images;
    std::vector<int64_t> labels;
    std::vector<std::vector<uint8_t>> masks;
    for (int64_t k = k0; k < k1; ++k) {
      Item it = item(shard + k * shards);
      images.push_back(std::move(it.image));
      labels.push_back(it.label);
      masks.push_back(kind == "segmentation" ? std::move(it.mask) : std::vector<uint8_t>{});
    }
    if (kind == "accuracy") {
      NoGradGuard ng;
      std::vector<Tensor> inputs;
      for (const Image8& img : images) inputs.push_back(normalize_image(img, f.normalization));
      const std::vector<int64_t> pred = argmax(model->logits(concat(inputs, 0)), 1).to_vector<int64_t>();
      for (size_t b = 0; b < images.size(); ++b) {
        ++counts.images;
        counts.labelled += labels[b] >= 0;
        counts.correct += labels[b] >= 0 && pred[b] == labels[b];
      }
    } else {
      xai::evaluate_images(*model, images, labels, masks, methods, kind == "perturbation", counts);
    }
    counts.progress.done = k1;
    counts.save_csv(saved);  // every batch: a killed run loses at most the batch in flight
    const int64_t now = k1 - resumed;
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "\reval %s: %lld/%lld images  %.2f s/image  ETA %.0f s   ", kind.c_str(),
                 static_cast<long long>(k1), static_cast<long long>(mine), el / now, el / now * (mine - k1));
  }
  std::fprintf(stderr, "\n");
  counts.save_csv(saved);
  const int64_t done = counts.progress.done;
  if (done < mine)
    std::fprintf(stderr, "stopped after --max-images: %lld of %lld images done; run the same command to continue\n",
                 static_cast<long long>(done), static_cast<long long>(mine));
  std::cout << xai::write_reports(counts, out, str(kind, " on ", done, " images (", args.get("checkpoint"), ")"));
  return 0;
}

}  // namespace ha::app
