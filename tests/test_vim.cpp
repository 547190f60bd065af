// Vision Mamba against the PyTorch reference (scripts/make_reference.py): logits, every block output,
// and the gradients of the top logit with respect to the input and every block output, loaded through the
// real .pth loader and again through safetensors. Plus the full Vim-tiny configuration, and the loader's
// refusals of malformed files.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "models/load.h"
#include "tensor/npy.h"
#include "tests/test_util.h"

namespace ha::test {
namespace {

const std::string kRef = std::string(HATTN_TEST_DATA) + "/vim_ref/";

void check_parity(VisionMamba& model, const std::string& label) {
  Tensor image = load_npy(kRef + "image.npy").requires_grad_();
  VimOutput out = model.forward(image, {false, true});
  expect_close_scaled(out.logits, load_npy(kRef + "logits.npy"), "vim.forward", label + " logits");
  const int64_t top = load_npy(kRef + "top.npy").to_vector<int64_t>()[0];
  EXPECT_EQ(argmax(out.logits, 1).item(), top);
  out.logits.select(0, 0).select(0, top).backward();
  expect_close_scaled(image.grad(), load_npy(kRef + "grad_input.npy"), "vim.gradient", label + " d logit / d image");
  for (size_t l = 0; l < out.block_outputs.size(); ++l) {
    expect_close_scaled(out.block_outputs[l], load_npy(kRef + str("block_", l, ".npy")), "vim.forward",
                        str(label, " block ", l));
    ASSERT_TRUE(out.block_outputs[l].grad().defined()) << "block " << l << " kept no gradient";
    expect_close_scaled(out.block_outputs[l].grad(), load_npy(kRef + str("grad_block_", l, ".npy")), "vim.gradient",
                        str(label, " d logit / d block ", l));
  }
}

TEST(VimParity, PthMatchesPyTorch) {
  std::string how;
  auto model = load_vim(kRef + "vim_ref.pth", {}, &how);
  const VimConfig& c = model->config();
  EXPECT_EQ(c.d_model, 64);
  EXPECT_EQ(c.depth, 4);
  EXPECT_EQ(c.img_size, 64);  // from the checkpoint's args.input_size
  EXPECT_EQ(c.stride, 16);
  EXPECT_EQ(c.cls_index(), 8);
  std::cout << "  config: " << c.describe() << "; " << how << "\n";
  check_parity(*model, "pth");
}

TEST(VimParity, SafetensorsRoundTrip) {
  auto model = load_vim(kRef + "vim_ref.pth");
  const std::string path = ::testing::TempDir() + "vim_ref.safetensors";
  save_vim_safetensors(*model, path);
  auto back = load_vim(path);
  EXPECT_EQ(back->config().describe(), model->config().describe());
  for (auto& [name, t] : back->named_parameters()) {
    Tensor orig;
    for (auto& [n2, t2] : model->named_parameters())
      if (n2 == name) orig = t2;
    expect_bitwise_equal(t, orig, name);
  }
  check_parity(*back, "safetensors");
  std::remove(path.c_str());
}

TEST(VimParity, TracesAreTheScanInputs) {
  auto model = load_vim(kRef + "vim_ref.pth");
  NoGradGuard ng;
  VimOutput out = model->forward(load_npy(kRef + "image.npy"), {true, false});
  ASSERT_EQ(out.traces.size(), 4u);
  const nn::DirectionTrace& t = out.traces[2].bwd;
  EXPECT_EQ(t.delta.shape(), (Shape{1, 128, 17}));
  EXPECT_EQ(t.Bm.shape(), (Shape{1, 16, 17}));
  EXPECT_EQ(t.conv_weight.shape(), (Shape{128, 4}));
  EXPECT_GT(amin(t.delta).item(), 0);  // softplus output
  EXPECT_LT(amax(t.A).item(), 0);      // -exp(A_log)
}

TEST(VimTiny, FullConfigurationRoundTripsAndClassifies) {
  VimConfig c = VimConfig::tiny();
  VisionMamba model(c);
  Generator g(3);
  for (auto& [name, t] : model.named_parameters()) {
    double scale = name.find("A_log") != std::string::npos ? 0.5 : 0.02;
    t.copy_(mul(randn(t.shape(), DType::F32, g), scale));
  }
  EXPECT_EQ(model.parameter_count(), 7148008);  // Vim-T's published count
  const std::string path = ::testing::TempDir() + "vim_tiny.safetensors";
  save_vim_safetensors(model, path);
  std::string how;
  auto back = load_vim(path, {}, &how);
  EXPECT_EQ(back->config().describe(), c.describe()) << how;
  NoGradGuard ng;
  Tensor img = randn({1, 3, 224, 224}, DType::F32, g);
  Tensor a = model.forward(img).logits, b = back->forward(img).logits;
  ASSERT_EQ(a.shape(), (Shape{1, 1000}));
  expect_bitwise_equal(a, b, "tiny logits after the round trip");
  for (float v : a.to_vector<float>()) ASSERT_TRUE(std::isfinite(v));
  std::remove(path.c_str());
}

TEST(VimConfigInference, StrideAndImageSizeRules) {
  Checkpoint ckpt = Checkpoint::open(kRef + "vim_ref.pth");
  EXPECT_EQ(infer_vim_config(ckpt, {8, 0}).img_size, 16 + 3 * 8);
  EXPECT_EQ(infer_vim_config(ckpt, {0, 112}).stride, 32);
  EXPECT_NE(error_of([&] { infer_vim_config(ckpt, {0, 101}); }).find("--img-size"), std::string::npos);
  EXPECT_NE(error_of([&] { infer_vim_config(ckpt, {8, 64}); }).find("--stride"), std::string::npos);
}

// ---- malformed files: a clear error naming the file, never a crash, never code execution

void expect_refused(const std::string& file, std::initializer_list<const char*> parts) {
  std::string msg = error_of([&] { load_vim(file); });
  ASSERT_FALSE(msg.empty()) << file << " loaded without error";
  std::cout << "  refused: " << msg.substr(0, 300) << "\n";
  for (const char* p : parts) EXPECT_NE(msg.find(p), std::string::npos) << msg;
}

TEST(CheckpointErrors, TruncatedZip) {
  std::ifstream in(kRef + "vim_ref.pth", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), {});
  const std::string path = ::testing::TempDir() + "truncated.pth";
  for (size_t cut : {all.size() / 2, all.size() - 30, size_t(100)}) {
    std::ofstream(path, std::ios::binary) << all.substr(0, cut);
    expect_refused(path, {path.c_str()});
  }
  std::remove(path.c_str());
}

TEST(CheckpointErrors, WrongMagic) { expect_refused(kRef + "bad_magic.pth", {"bad magic"}); }

TEST(CheckpointErrors, DisallowedGlobalIsNeverRun) {
  std::remove("/tmp/hattn_pwned");
  expect_refused(kRef + "bad_global.pth", {"refused global", "system"});
  EXPECT_FALSE(std::filesystem::exists("/tmp/hattn_pwned"));
}

TEST(CheckpointErrors, ProtocolAboveTwo) { expect_refused(kRef + "bad_protocol.pth", {"protocol 4"}); }
TEST(CheckpointErrors, MissingStorage) { expect_refused(kRef + "bad_missing_storage.pth", {"missing from the archive"}); }
TEST(CheckpointErrors, ShapeOverflows) { expect_refused(kRef + "bad_shape_overflow.pth", {"'w'", "overflows"}); }
TEST(CheckpointErrors, ShapeExceedsStorage) { expect_refused(kRef + "bad_shape_exceeds.pth", {"'w'", "storage holds"}); }

TEST(CheckpointErrors, NonFloatWeightAndMissingKeysAllAtOnce) {
  auto model = load_vim(kRef + "vim_ref.pth");
  Checkpoint bad = Checkpoint::open(kRef + "bad_int_weight.pth");
  std::string msg = error_of([&] { load_parameters(*model, bad); });
  std::cout << "  refused: " << msg.substr(0, 300) << "\n";
  EXPECT_NE(msg.find("not floating point (1): head.bias (I64)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing ("), std::string::npos);
  EXPECT_NE(msg.find("layers.3.mixer.out_proj.weight"), std::string::npos);
}

// The README promises missing, unexpected and mis-shaped keys reported together, each by name.
TEST(CheckpointErrors, UnexpectedMisshapenAndMissingKeysAllAtOnce) {
  auto model = load_vim(kRef + "vim_ref.pth");
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (auto& [name, t] : model->named_parameters()) {
    if (name == "layers.1.mixer.A_log") continue;  // missing
    tensors.emplace_back(name, name == "head.weight" ? Tensor::zeros({3, 5}) : t);  // mis-shaped head
  }
  tensors.emplace_back("layers.9.mixer.extra", Tensor::zeros({2}));  // unexpected
  const std::string path = ::testing::TempDir() + "mismatched.safetensors";
  save_safetensors(path, tensors);
  std::string msg = error_of([&] { load_parameters(*model, Checkpoint::open(path)); });
  std::cout << "  refused: " << msg << "\n";
  EXPECT_NE(msg.find("does not match the model"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing (1): layers.1.mixer.A_log"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unexpected (1): layers.9.mixer.extra"), std::string::npos) << msg;
  EXPECT_NE(msg.find("shape mismatch (1): head.weight (file (3, 5), model (1000, 64))"), std::string::npos) << msg;
  std::remove(path.c_str());
}

TEST(CheckpointErrors, GoodSmallFileLoads) {
  Checkpoint c = Checkpoint::open(kRef + "good_small.pth");
  EXPECT_EQ(c.load("w").to_vector<float>(), (std::vector<float>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(c.extras().front().second, "bare state dict");
}

TEST(CheckpointErrors, BadSafetensors) {
  const std::string path = ::testing::TempDir() + "bad.safetensors";
  auto write = [&](const std::string& header, const std::string& body) {
    std::ofstream f(path, std::ios::binary);
    uint64_t n = header.size();
    f.write(reinterpret_cast<const char*>(&n), 8);
    f << header << body;
  };
  write("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", std::string(8, '\0'));
  EXPECT_NE(error_of([&] { Checkpoint::open(path); }).find("outside the file"), std::string::npos);
  write("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", std::string(24, '\0'));
  EXPECT_NE(error_of([&] { Checkpoint::open(path); }).find("20 bytes for shape (2, 3)"), std::string::npos);
  write("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]", std::string(24, '\0'));
  EXPECT_NE(error_of([&] { Checkpoint::open(path); }).find("invalid JSON"), std::string::npos);
  {
    std::ofstream f(path, std::ios::binary);
    uint64_t n = uint64_t(1) << 40;
    f.write(reinterpret_cast<const char*>(&n), 8);
    f << "{}";
  }
  EXPECT_NE(error_of([&] { Checkpoint::open(path + ""); }).find("header length"), std::string::npos);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace ha::test
