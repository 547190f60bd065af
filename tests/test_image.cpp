// Image decoding and preprocessing against torchvision + Pillow goldens (scripts/make_image_goldens.py):
// resampling must be bit-exact (docs/definitions.md §3 tolerates ±1 on a small fraction of pixels; we measure and print).
#include <gtest/gtest.h>

#include <fstream>

#include "models/preprocess.h"
#include "tensor/npy.h"
#include "tests/test_util.h"

namespace ha::test {
namespace {

const std::string kImages = std::string(HATTN_TEST_DATA) + "/images/";

void expect_matches_golden(const Image8& got, const std::string& golden) {
  Tensor ref = load_npy(kImages + golden);
  ASSERT_EQ(ref.shape(), (Shape{got.height, got.width, 3})) << golden;
  const uint8_t* r = ref.data<uint8_t>();
  int64_t off_by_one = 0, worse = 0;
  for (size_t i = 0; i < got.rgb.size(); ++i) {
    int d = std::abs(int(got.rgb[i]) - int(r[i]));
    off_by_one += d == 1;
    worse += d > 1;
  }
  std::cout << "  [" << golden << "] " << off_by_one << " of " << got.rgb.size() << " values off by 1, " << worse
            << " off by more\n";
  EXPECT_EQ(worse, 0) << golden;
  EXPECT_EQ(off_by_one, 0) << golden << ": Pillow's arithmetic is reproduced exactly, so any difference is a bug";
}

TEST(Preprocess, MatchesTorchvisionPillowBitExactly) {
  for (const char* name : {"wide", "small", "gray", "rgba"}) {
    Image8 src = load_image(kImages + "src_" + name + ".png");
    for (int64_t n : {64, 224}) {
      if (n == 224 && std::string(name) != "wide") continue;
      for (Preprocess mode : {Preprocess::Crop, Preprocess::VimEval, Preprocess::Squash})
        expect_matches_golden(preprocess_image(src, n, mode), str(name, "_", preprocess_name(mode), "_", n, ".npy"));
    }
  }
}

TEST(Preprocess, NormalisationMatchesToTensorNormalize) {
  Image8 img = preprocess_image(load_image(kImages + "src_wide.png"), 224, Preprocess::Crop);
  Tensor t = normalize_image(img);
  Tensor ref = load_npy(kImages + "wide_crop_224_normalized.npy");
  expect_close(t.reshape({3, 224, 224}), ref, "preprocess.normalize", "normalised input");
}

TEST(Preprocess, BadImagesGetClearErrors) {
  EXPECT_NE(error_of([] { load_image("/nonexistent/cat.jpg"); }).find("/nonexistent/cat.jpg"), std::string::npos);
  const std::string path = ::testing::TempDir() + "not_an_image.png";
  { std::ofstream(path) << "this is text, not pixels"; }
  std::string msg = error_of([&] { load_image(path); });
  EXPECT_NE(msg.find(path), std::string::npos);
  EXPECT_NE(msg.find("not a readable image"), std::string::npos) << msg;
  {  // a PNG header claiming 10000 x 10000 pixels: refused before decoding
    std::ifstream in(kImages + "src_small.png", std::ios::binary);
    std::string png((std::istreambuf_iterator<char>(in)), {});
    for (int k = 0; k < 2; ++k) {  // IHDR width and height, big-endian at bytes 16 and 20
      png[16 + 4 * k] = 0, png[17 + 4 * k] = 0, png[18 + 4 * k] = 0x27, png[19 + 4 * k] = 0x10;
    }
    std::ofstream(path, std::ios::binary) << png;
  }
  msg = error_of([&] { load_image(path); });
  EXPECT_NE(msg.find("megapixel"), std::string::npos) << msg;
  EXPECT_NE(error_of([] { parse_preprocess("stretch"); }).find("stretch"), std::string::npos);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace ha::test
