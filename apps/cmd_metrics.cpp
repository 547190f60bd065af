// hattn metrics segmentation: scores given maps against given masks (docs/definitions.md §7, §8), for maps made by any tool.
#include <cmath>
#include <cstdio>
#include <iostream>

#include "apps/common.h"
#include "tensor/npy.h"
#include "xai/metrics.h"

namespace ha::app {

int run_metrics(int argc, char** argv) {
  if (argc < 1 || std::string(argv[0]) != "segmentation")
    throw UsageError("hattn metrics: expected 'segmentation' (hattn metrics segmentation --help)");
  Args args("metrics segmentation", "Pixel accuracy, mIoU, mAP and mF1 of maps against masks (docs/definitions.md §7).");
  args.option("maps", "", "float32 .npy [N, H, W]", true)
      .option("masks", "", "uint8 .npy [N, H, W] of 0/1", true)
      .flag("json", "print JSON with keys pixel_accuracy, miou, map, mf1 (fractions)");
  if (!args.parse(argc - 1, argv + 1)) return 0;
  Tensor maps = load_npy(args.get("maps")), masks = load_npy(args.get("masks"));
  HATTN_CHECK_INPUT(maps.dim() == 3 && maps.dtype() == DType::F32, "'", args.get("maps"), "': expected float32 [N, H, W], got ",
                    describe(maps));
  HATTN_CHECK_INPUT(masks.dtype() == DType::U8 && masks.shape() == maps.shape(), "'", args.get("masks"),
                    "': expected uint8 of the maps' shape ", shape_str(maps.shape()), ", got ", describe(masks));
  const int64_t N = maps.size(0), HW = maps.size(1) * maps.size(2);
  const float* mp = maps.data<float>();
  const uint8_t* kp = masks.data<uint8_t>();
  xai::SegmentationCounts s;
  for (int64_t i = 0; i < N; ++i) {
    std::vector<float> m(mp + i * HW, mp + (i + 1) * HW);
    for (float v : m) HATTN_CHECK_INPUT(std::isfinite(v), "'", args.get("maps"), "': map ", i, " holds a non-finite value");
    std::vector<uint8_t> k(kp + i * HW, kp + (i + 1) * HW);
    for (uint8_t v : k) HATTN_CHECK_INPUT(v <= 1, "'", args.get("masks"), "': mask ", i, " holds ", int(v), ", not 0/1");
    s.add(m, k);
  }
  if (args.has("json")) {
    std::printf("{\"pixel_accuracy\": %.9g, \"miou\": %.9g, \"map\": %.9g, \"mf1\": %.9g, \"images\": %lld}\n",
                s.pixel_accuracy(), s.miou(), s.map(), s.mf1(), static_cast<long long>(N));
  } else {
    std::printf("images          %lld\npixel accuracy  %.2f%%\nmIoU            %.2f%%\nmAP             %.2f%%\nmF1             %.2f%%\n",
                static_cast<long long>(N), 100 * s.pixel_accuracy(), 100 * s.miou(), 100 * s.map(), 100 * s.mf1());
  }
  return 0;
}

}  // namespace ha::app
