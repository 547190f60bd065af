// Chefer's evaluation protocols (docs/definitions.md §7) over explanation maps: for one image, every method's map is
// scored by perturbation (positive and negative, 10 steps) and segmentation against a ground-truth mask.
// Results are counts, so shards merge exactly; reports (Markdown, CSV, SVG curves) come from counts.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "models/eval_data.h"
#include "models/io/image.h"
#include "models/preprocess.h"
#include "xai/explain.h"
#include "xai/metrics.h"

namespace ha::xai {

struct EvalMethod {
  Method method;
  Variant variant = Variant::Exact;
  std::string label;  // "attr (official)" where the family offers variants of attr, else "attr": the reports' row
  std::string token;  // as --methods writes it: "attr:official", "unified", ...
  Ablation ablation;  // rollout and attr: the paper's ablations (the same for every row of a run)
};
// "all" (every method of the family, each variant) or a comma list of method[:variant]; an InputError for a method
// or variant the family does not offer.
std::vector<EvalMethod> parse_eval_methods(const FamilyInfo& family, const std::string& spec);

struct EvalCounts {
  std::map<std::string, PerturbationCounts> positive, negative;  // by method name
  std::map<std::string, SegmentationCounts> segmentation;
  int64_t images = 0, correct = 0;  // clean accuracy: `correct` of the `labelled` images (label >= 0)
  int64_t labelled = 0;
  // Where an interrupted run stands (saved with the counts, ignored by merge): which run, how many of its
  // `total` images are done. Empty `run`: not recorded.
  struct Progress {
    std::string run;
    int64_t done = 0, total = 0;
  } progress;
  void merge(const EvalCounts& o);
  void save_csv(const std::string& path) const;  // counts, mergeable
  static EvalCounts load_csv(const std::string& path);
};

// What the perturbation test puts in place of a removed pixel (docs/definitions.md §7): black (0 in [0, 1] space,
// Chefer's protocol), the clean image blurred by a Gaussian of σ = P/2 pixels (P the patch size at the model's
// input; separable, radius ⌈3σ⌉, borders reflected as scipy.ndimage does, rounded to 8 bits), or the
// normalisation's mean colour.
enum class Fill { Black, Blur, Mean };
Fill parse_fill(const std::string& s);  // black | blur | mean
const char* fill_name(Fill f);
// The 8-bit image blurred as Fill::Blur takes it.
Image8 gaussian_blur(const Image8& image, double sigma);

// Scores images (8-bit, the model's input size) for every method with one traced pass over the batch (the family
// decides whether that is one forward and backward or one per image); the counts are those of scoring the images
// one by one, up to float32 rounding. A `masks` entry may be empty (no segmentation); a label < 0 is unknown
// (segmentation data without classes: the predicted class is explained either way). Perturbed copies are
// normalised as the model's inputs are.
void evaluate_images(const Explainable& model, const std::vector<Image8>& images, const std::vector<int64_t>& labels,
                     const std::vector<std::vector<uint8_t>>& masks, const std::vector<EvalMethod>& methods,
                     bool perturbation, EvalCounts& counts, Fill fill = Fill::Black);

enum class Protocol { Perturbation, Segmentation, Accuracy };
Protocol parse_protocol(const std::string& kind);  // perturbation | segmentation | accuracy

// Runs a protocol over a shard of a data set, resuming where counts.progress says: this shard's images are
// k = 0, 1, ... (data index shard + k · shards), of which [counts.progress.done, stop) are scored, `batch` at a
// time (stop < 0: the shard's end). After each batch counts.progress.done is updated and `after_batch` (if any)
// is called; it returns false to stop there. Accuracy counts the clean predictions only.
void run_protocol(const Explainable& model, const EvalData& data, Protocol protocol,
                  const std::vector<EvalMethod>& methods, int64_t shard, int64_t shards, int64_t stop, int64_t batch,
                  EvalCounts& counts, const std::function<bool()>& after_batch = {}, Fill fill = Fill::Black);
// The images of a shard of `available` (shard + k · shards < available).
int64_t shard_size(int64_t available, int64_t shard, int64_t shards);

// results.json's text (see write_reports).
std::string results_json(const EvalCounts& counts, const std::string& provenance = "");

// Writes DIR/{perturbation,segmentation}.{md,csv} and DIR/perturbation_{positive,negative}.svg; returns the
// Markdown of both tables.
// Also DIR/results.json: {"accuracy": {"accuracy", "images"}, "<method>[:<variant>]": {…}} with the
// perturbation AUCs ("positive_auc", "negative_auc", "images") and/or the segmentation metrics
// ("pixel_accuracy", "miou", "map", "mf1", "images") as fractions.
// `provenance` (a JSON object's text, or empty) becomes results.json's "provenance".
std::string write_reports(const EvalCounts& counts, const std::string& dir, const std::string& title,
                          const std::string& provenance = "");

}  // namespace ha::xai
