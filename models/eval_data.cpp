#include "models/eval_data.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>

#include "models/cluttered.h"
#include "models/io/gtsegs.h"

namespace ha {
namespace {

// The entries of a folder; an InputError naming it when it cannot be listed (permissions, a symbolic-link loop).
std::vector<std::filesystem::directory_entry> entries_of(const std::string& dir) {
  std::error_code ec;
  std::vector<std::filesystem::directory_entry> out;
  std::filesystem::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) out.push_back(*it);
  HATTN_CHECK_INPUT(!ec, "cannot list the folder '", dir, "': ", ec.message());
  return out;
}

std::vector<std::string> image_files_in(const std::string& dir, bool skip_masks) {
  std::vector<std::string> out;
  for (const auto& e : entries_of(dir)) {
    std::error_code ec;
    if (!e.is_regular_file(ec)) continue;
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

}  // namespace

std::vector<std::pair<std::string, int64_t>> list_labelled_images(const std::string& dir, const std::string& labels,
                                                                  const std::string& synsets, bool segmentation) {
  std::error_code ec;
  HATTN_CHECK_INPUT(std::filesystem::is_directory(dir, ec), "images '", dir, "' is not a folder");
  std::vector<std::pair<std::string, int64_t>> files;
  std::vector<std::string> classes;
  for (const auto& e : entries_of(dir))
    if (e.is_directory(ec)) classes.push_back(e.path().filename().string());
  std::sort(classes.begin(), classes.end());
  if (!classes.empty() && labels.empty()) {  // ImageFolder
    for (size_t k = 0; k < classes.size(); ++k)
      for (const std::string& f : image_files_in(dir + "/" + classes[k], segmentation))
        files.emplace_back(f, static_cast<int64_t>(k));
  } else if (labels.empty()) {
    HATTN_CHECK_INPUT(segmentation, "a flat images folder needs labels (lines 'file class', or LOC_val_solution.csv)");
    for (const std::string& f : image_files_in(dir, true)) files.emplace_back(f, -1);
  } else if (labels.size() > 4 && labels.compare(labels.size() - 4, 4, ".csv") == 0) {  // Kaggle's layout
    HATTN_CHECK_INPUT(!synsets.empty(), "labels ", labels, " (LOC_val_solution.csv) need the synsets file ",
                      "LOC_synset_mapping.txt");
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

EvalData::EvalData(const EvalDataSpec& s) {
  const int64_t n = s.input_size;
  const Preprocess mode = s.preprocess;
  const bool segmentation = s.segmentation;
  HATTN_CHECK_INPUT(s.mat.empty() || segmentation, "a .mat file holds segmentation data");
  HATTN_CHECK_INPUT(s.mat.empty() || s.images.empty(), "a .mat file and an images folder are two data sets: pick one");
  HATTN_CHECK_INPUT(!segmentation || mode == Preprocess::Squash || (s.images.empty() && s.mat.empty()),
                    "segmentation squashes images and masks to the input size (Chefer's protocol): preprocess squash");
  auto mask_at_input_size = [n](const std::vector<uint8_t>& mask, int64_t w, int64_t h) {
    return resize_nearest_like_pil(mask, w, h, n, n);
  };
  if (!s.mat.empty()) {
    auto mat = std::make_shared<GtSegsFile>(s.mat);
    size_ = mat->size();
    describe_ = s.mat;
    item_ = [mat, n, mode, mask_at_input_size](int64_t i) -> EvalItem {
      SegmentationItem it = mat->item(i);
      return {preprocess_image(it.image, n, mode), -1, mask_at_input_size(it.mask, it.image.width, it.image.height)};
    };
    source_ = mat;
  } else if (!s.images.empty()) {
    auto files = std::make_shared<std::vector<std::pair<std::string, int64_t>>>(
        list_labelled_images(s.images, s.labels, s.synsets, segmentation));
    size_ = static_cast<int64_t>(files->size());
    describe_ = s.images;
    item_ = [files, n, mode, segmentation, mask_at_input_size](int64_t i) -> EvalItem {
      const auto& [f, label] = (*files)[i];
      EvalItem it{preprocess_image(load_image(f), n, mode), label, {}};
      if (segmentation) {
        const Image8 mk = load_image(f.substr(0, f.find_last_of('.')) + "_mask.png");
        std::vector<uint8_t> plane(mk.width * mk.height);
        for (size_t p = 0; p < plane.size(); ++p) plane[p] = mk.rgb[p * 3] > 127;
        it.mask = mask_at_input_size(plane, mk.width, mk.height);
      }
      return it;
    };
    source_ = files;
  } else {
    auto cluttered = std::make_shared<ClutteredFashion>(s.cluttered_dir, "test", 1);
    HATTN_CHECK_INPUT(n == ClutteredFashion::kCanvas, "the cluttered set is ", ClutteredFashion::kCanvas, "x",
                      ClutteredFashion::kCanvas, " but the model takes ", n, "x", n, "; give images or a .mat file");
    size_ = cluttered->size();
    cluttered_ = true;
    describe_ = s.cluttered_dir;
    item_ = [cluttered, segmentation](int64_t i) -> EvalItem {
      ClutteredSample c = cluttered->get(i, 0);
      return {c.image, c.label, segmentation ? c.mask : std::vector<uint8_t>{}};
    };
    source_ = cluttered;
  }
}

}  // namespace ha
