// ImageNet-Segmentation's .mat layout (models/io/gtsegs.h) on a small file written by h5py in the same layout
// (scripts/make_gtsegs_fixture.py), against the same images and masks as PNGs; hostile files refused by name;
// Pillow's nearest-neighbour mask resize against values Pillow 9.4 produced.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>

#include "models/io/gtsegs.h"
#include "models/preprocess.h"
#include "tests/test_util.h"

namespace ha::test {
namespace {

const std::string kDir = std::string(HATTN_TEST_DATA) + "/gtsegs/";

TEST(GtSegs, ReadsTheSameImagesAndMasksAsThePngs) {
  if (!GtSegsFile::available()) GTEST_SKIP() << "this build has no HDF5";
  GtSegsFile f(kDir + "small.mat");
  ASSERT_EQ(f.size(), 3);
  const int64_t sizes[3][2] = {{70, 84}, {112, 56}, {56, 56}};
  for (int64_t i = 0; i < f.size(); ++i) {
    SegmentationItem it = f.item(i);
    const Image8 png = load_image(kDir + str("item_", i, ".png"));
    const Image8 mask = load_image(kDir + str("item_", i, "_mask.png"));
    EXPECT_EQ(it.image.width, sizes[i][0]);
    EXPECT_EQ(it.image.height, sizes[i][1]);
    ASSERT_EQ(it.image.width, png.width);
    ASSERT_EQ(it.image.height, png.height);
    EXPECT_EQ(it.image.rgb, png.rgb) << "item " << i;
    ASSERT_EQ(it.mask.size(), size_t(png.width * png.height));
    int64_t ones = 0, wrong = 0;
    for (size_t p = 0; p < it.mask.size(); ++p) {
      ones += it.mask[p];
      wrong += it.mask[p] != (mask.rgb[p * 3] > 127);
    }
    EXPECT_EQ(wrong, 0) << "item " << i;
    EXPECT_GT(ones, 0) << "item " << i << ": an empty mask would not test the orientation";
  }
}

TEST(GtSegs, HostileFilesAreRefusedByName) {
  if (!GtSegsFile::available()) GTEST_SKIP() << "this build has no HDF5";
  std::ifstream in(kDir + "small.mat", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), {});
  const std::string path = ::testing::TempDir() + "hostile.mat";
  auto refused = [&](const std::string& bytes, const char* expected) {
    std::ofstream(path, std::ios::binary) << bytes;
    const std::string msg = error_of([&] {
      GtSegsFile f(path);
      for (int64_t i = 0; i < f.size(); ++i) f.item(i);
    });
    std::cout << "  " << msg << "\n";
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(expected), std::string::npos) << msg;
  };
  refused("not an HDF5 file at all", "not an HDF5 file");
  refused(all.substr(0, all.size() / 2), "could not be read");
  refused(all.substr(0, 600), "could not be read");
  std::string flipped = all;  // the data region scrambled, the header intact
  for (size_t k = 4096; k < flipped.size(); k += 7) flipped[k] = static_cast<char>(flipped[k] ^ 0x5a);
  const std::string msg = error_of([&] {
    std::ofstream(path, std::ios::binary) << flipped;
    GtSegsFile f(path);
    for (int64_t i = 0; i < f.size(); ++i) f.item(i);
  });
  std::cout << "  scrambled: " << (msg.empty() ? "read without error" : msg) << "\n";
  if (!msg.empty()) {
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
  }
  std::remove(path.c_str());
}

// Source column of each output column, from Pillow 9.4's Image.resize(NEAREST) on a row of 0, 1, 2, ...
TEST(GtSegs, MaskResizeIsPillowsNearest) {
  auto columns = [](int64_t s, int64_t d) {
    std::vector<uint8_t> row(s);
    for (int64_t x = 0; x < s; ++x) row[x] = static_cast<uint8_t>(x);
    std::vector<uint8_t> out = resize_nearest_like_pil(row, s, 1, d, 1);
    return std::vector<int>(out.begin(), out.end());
  };
  EXPECT_EQ(columns(2, 7), (std::vector<int>{0, 0, 0, 0, 1, 1, 1}));  // 3.5 · 2/7 = 1 exactly: Pillow says 0
  EXPECT_EQ(columns(4, 7), (std::vector<int>{0, 0, 1, 1, 2, 3, 3}));
  EXPECT_EQ(columns(5, 3), (std::vector<int>{0, 2, 4}));
  std::vector<int> c = columns(6, 57);
  int sum = 0;
  for (int v : c) sum += v;
  EXPECT_EQ(sum, 143);
  EXPECT_EQ(std::vector<int>(c.begin(), c.begin() + 12), (std::vector<int>{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1}));
}

}  // namespace
}  // namespace ha::test
