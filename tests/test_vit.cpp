// ViT / DeiT in timm's layout against the PyTorch reference (scripts/make_vit_reference.py): configuration from
// the shapes, logits and every block's attention probabilities, plain and distilled; the family told from the keys.
#include <gtest/gtest.h>

#include "models/load.h"
#include "xai/vit_explain.h"
#include "models/load_vit.h"
#include "tensor/npy.h"
#include "tests/test_util.h"

namespace ha::test {
namespace {

const std::string kRef = std::string(HATTN_TEST_DATA) + "/vit_ref/";

TEST(Vit, ConfigurationFromShapes) {
  const Checkpoint ckpt = Checkpoint::open(kRef + "vit.pth");
  EXPECT_EQ(detect_family(ckpt), ModelFamily::Vit);
  EXPECT_EQ(detect_family(Checkpoint::open(std::string(HATTN_TEST_DATA) + "/vim_ref/vim_ref.pth")), ModelFamily::Vim);
  const VitConfig c = infer_vit_config(ckpt, 3);
  EXPECT_EQ(c.d_model, 48);
  EXPECT_EQ(c.depth, 2);
  EXPECT_EQ(c.mlp_hidden, 96);
  EXPECT_EQ(c.patch, 8);
  EXPECT_EQ(c.img_size, 32);
  EXPECT_EQ(c.num_classes, 10);
  EXPECT_FALSE(c.distilled);
  EXPECT_EQ(infer_vit_config(ckpt).heads, 1);  // D / 64, at least 1: the test model needs --heads 3
  EXPECT_TRUE(infer_vit_config(Checkpoint::open(kRef + "deit_dist.pth"), 3).distilled);
  EXPECT_NE(error_of([&] { infer_vit_config(ckpt, 5); }).find("not divisible into 5 heads"), std::string::npos);
}

TEST(Vit, MatchesPyTorch) {
  const Tensor image = load_npy(kRef + "image.npy");
  for (const char* name : {"vit", "deit_dist"}) {
    auto model = load_vit(Checkpoint::open(kRef + name + std::string(".pth")), 3);
    NoGradGuard ng;
    VitOutput out = model->forward(image);
    expect_close_scaled(out.logits, load_npy(kRef + name + std::string("_logits.npy")), "vit.forward",
                        str(name, " logits"));
    if (std::string(name) == "vit")
      for (size_t l = 0; l < out.attentions.size(); ++l)
        expect_close_scaled(out.attentions[l], load_npy(kRef + str("vit_attn_", l, ".npy")), "vit.forward",
                            str("vit attention, block ", l));
  }
}

// raw, rollout, gae and the baselines against the same definitions in PyTorch (float64 there, float32 here)
TEST(Vit, MapsMatchPyTorch) {
  auto model = load_vit(Checkpoint::open(kRef + "vit.pth"), 3);
  const xai::VitExplainContext ctx = xai::run_vit_explain_pass(*model, load_npy(kRef + "image.npy"));
  for (xai::Method m : xai::vit_methods()) {
    if (m == xai::Method::Random) continue;
    const std::string name = xai::method_name(m);
    expect_close_scaled(xai::explain_vit(ctx, m), load_npy(kRef + "vit_map_" + name + ".npy"), "xai.map", "vit " + name);
  }
  EXPECT_NE(error_of([&] { xai::explain_vit(ctx, xai::Method::Attr); }).find("not implemented for ViTs yet"),
            std::string::npos);
}

}  // namespace
}  // namespace ha::test
