// Image decoding and preprocessing against torchvision + Pillow goldens (scripts/make_image_goldens.py):
// resampling must be bit-exact (docs/definitions.md §3 tolerates ±1 on a small fraction of pixels; we measure and print).
#include <gtest/gtest.h>

#include <fstream>

#include "models/io/jpeg.h"
#include "models/load.h"
#include "models/preprocess.h"
#include "tensor/npy.h"
#include "tests/test_util.h"

namespace ha::test {
namespace {

const std::string kImages = std::string(HATTN_TEST_DATA) + "/images/";

// `golden`: a uint8 (H, W, 3) .npy, relative to tests/data/images/ unless it starts with '/'.
void expect_matches_golden(const Image8& got, const std::string& golden) {
  Tensor ref = load_npy(golden[0] == '/' ? golden : kImages + golden);
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

// JPEG pixels equal Pillow's (Image.open(f).convert("RGB"); Debian's Pillow and a PyPI wheel agree on them,
// scripts/make_jpeg_goldens.py --check) for every layout Pillow writes: the model sees what PyTorch pipelines see.
TEST(Jpeg, DecodedAsPillowDecodes) {
  if (!jpeg::available()) GTEST_SKIP() << "this build has no libjpeg (libjpeg62-turbo-dev): JPEG goes through stb_image";
  const std::string dir = std::string(HATTN_TEST_DATA) + "/jpeg/";
  for (const char* name : {"420", "422", "444", "progressive", "optimized", "gray", "cmyk", "exif_rotated", "tiny", "q100"}) {
    expect_matches_golden(load_image(dir + name + ".jpg"), dir + name + ".npy");
  }
  for (const char* name : {"truncated.jpg", "truncated_eoi.jpg"}) {  // Pillow refuses both, even the one missing
    const std::string why = error_of([&] { load_image(dir + name); });  // only its end-of-image marker
    EXPECT_NE(why.find(name), std::string::npos) << why;
    EXPECT_NE(why.find("image file is truncated"), std::string::npos) << why;
  }
}

// PNG pixels equal Pillow's where decoders disagree: 16-bit grey is clipped to 255 (not scaled), other 16-bit
// layouts keep the high byte, low bit depths scale, palettes expand, transparency is dropped
// (scripts/make_png_goldens.py; a PyPI Pillow wheel agrees).
TEST(Png, DecodedAsPillowDecodes) {
  const std::string dir = std::string(HATTN_TEST_DATA) + "/png/";
  for (const char* name : {"gray16", "gray_alpha16", "rgb16", "rgba16", "gray1", "gray2", "gray4", "palette8",
                           "palette4", "palette_trns", "rgb_trns", "interlaced"}) {
    expect_matches_golden(load_image(dir + name + ".png"), dir + name + ".npy");
  }
}

// A JPEG classified end to end gives the logits of a float64 PyTorch reference that decodes with Pillow and
// preprocesses with torchvision (crop): the pixels are equal, so only float32 rounding differs.
TEST(Jpeg, ClassifiedAsPyTorchWithPillowClassifies) {
  if (!jpeg::available()) GTEST_SKIP() << "this build has no libjpeg (libjpeg62-turbo-dev): JPEG goes through stb_image";
  const std::string data = std::string(HATTN_TEST_DATA) + "/";
  auto model = load_vim(data + "vim_ref/vim_ref.pth");
  const Image8 img = preprocess_image(load_image(data + "jpeg/420.jpg"), model->config().img_size, Preprocess::Crop);
  NoGradGuard no_grad;
  expect_close_scaled(model->forward(normalize_image(img)).logits, load_npy(data + "jpeg/420_vim_ref_logits.npy"),
                      "vim.forward", "logits of 420.jpg");
}

// The frame header is read without a decoder: a JPEG claiming 10000 x 10000 pixels, or 12-bit samples, or two
// components, is refused before anything decodes it.
TEST(Jpeg, HeaderCheckedBeforeDecoding) {
  if (!jpeg::available()) GTEST_SKIP() << "this build has no libjpeg (libjpeg62-turbo-dev): JPEG goes through stb_image";
  std::ifstream in(std::string(HATTN_TEST_DATA) + "/jpeg/420.jpg", std::ios::binary);
  const std::string good((std::istreambuf_iterator<char>(in)), {});
  const size_t sof = good.find("\xff\xc0");
  ASSERT_NE(sof, std::string::npos);
  const std::string path = ::testing::TempDir() + "edited.jpg";
  auto with = [&](size_t at, std::initializer_list<unsigned char> bytes) {
    std::string b = good;
    size_t k = at;
    for (unsigned char c : bytes) b[k++] = static_cast<char>(c);
    std::ofstream(path, std::ios::binary) << b;
    return error_of([&] { load_image(path); });
  };
  EXPECT_NE(with(sof + 5, {0x27, 0x10, 0x27, 0x10}).find("megapixel limit"), std::string::npos);  // height, width
  EXPECT_NE(with(sof + 4, {12}).find("12-bit"), std::string::npos);
  EXPECT_NE(with(sof + 9, {2}).find("2 components"), std::string::npos);
  EXPECT_NE(with(sof + 5, {0, 0}).find("no pixels"), std::string::npos);
  std::ofstream(path, std::ios::binary) << good.substr(0, sof);  // ends before its frame header
  EXPECT_NE(error_of([&] { load_image(path); }).find("before its frame header"), std::string::npos);
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
