// hattn cluttered: writes items of the cluttered Fashion-MNIST set as PNG files (image and mask) plus a
// labels.txt of lines "file class" (the format `hattn eval --images --labels` reads).
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "apps/common.h"
#include "models/cluttered.h"
#include "tensor/atomic_write.h"

namespace ha::app {

int run_cluttered(int argc, char** argv) {
  Args args("cluttered", "Export items of the cluttered Fashion-MNIST set (56x56) as PNG images and masks.");
  args.option("data", ClutteredFashion::default_dir(), "Fashion-MNIST folder")
      .option("split", "test", "train | test")
      .option("index", "0", "first item")
      .option("count", "8", "number of items")
      .option("out", "out/cluttered", "output folder");
  if (!args.parse(argc, argv)) return 0;
  const std::string split = args.get("split");
  ClutteredFashion data(args.get("data"), split, split == "test" ? 1 : 0);  // the seeds train and eval use
  const int64_t first = args.get_int("index"), count = args.get_int("count");
  if (first < 0 || count <= 0 || first + count > data.size())
    throw UsageError(str("--index/--count must select items within [0, ", data.size(), ")"));
  const std::string out = args.get("out");
  make_output_dir(out);
  std::ostringstream labels;
  for (int64_t i = first; i < first + count; ++i) {
    ClutteredSample s = data.get(i, 0);
    const std::string name = str(split, "_", i, ".png");
    save_png(out + "/" + name, s.image);
    Image8 mask;
    mask.width = mask.height = ClutteredFashion::kCanvas;
    for (uint8_t m : s.mask) mask.rgb.insert(mask.rgb.end(), 3, m ? 255 : 0);
    save_png(out + "/" + str(split, "_", i, "_mask.png"), mask);
    labels << name << " " << s.label << "\n";
    std::printf("%s  class %lld (%s)\n", name.c_str(), static_cast<long long>(s.label),
                ClutteredFashion::class_names()[s.label].c_str());
  }
  write_file_atomically(out + "/labels.txt", [&](std::ostream& f) { f << labels.str(); });
  return 0;
}

}  // namespace ha::app
