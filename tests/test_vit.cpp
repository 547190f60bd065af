// ViT / DeiT in timm's layout against the PyTorch reference (scripts/make_vit_reference.py): configuration from
// the shapes, logits and every block's attention probabilities, plain and distilled; the family told from the keys.
#include <gtest/gtest.h>

#include "models/load.h"
#include "xai/explain.h"
#include "xai/registry.h"
#include "xai/vit_lrp.h"
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
  auto model = xai::vision_transformer_explainable(load_vit(Checkpoint::open(kRef + "vit.pth"), 3));
  const xai::FamilyInfo& f = model->info();
  const xai::Trace ctx = std::move(model->trace(load_npy(kRef + "image.npy"))[0]);
  for (const xai::MethodSpec& spec : f.methods) {
    if (spec.method == xai::Method::Random) continue;
    const std::string name = xai::method_name(spec.method);
    expect_close_scaled(xai::explain(ctx, f, spec.method), load_npy(kRef + "vit_map_" + name + ".npy"), "xai.map",
                        "vit " + name);
  }
  EXPECT_NE(error_of([&] { xai::explain(ctx, f, xai::Method::Unified); }).find("Vision Mamba's"), std::string::npos);
}

// The relevance rules conserve the total: what reaches the first block's input sums to the one-hot's 1 (the
// PyTorch reference measured 1.0000000143 on the same model).
TEST(Vit, TransformerAttributionConservesRelevance) {
  auto model = load_vit(Checkpoint::open(kRef + "vit.pth"), 3);
  NoGradGuard ng;
  const VitOutput out = model->forward(load_npy(kRef + "image.npy"), true);
  Tensor r_in;
  xai::attention_relevance(*model, out, argmax(out.logits, 1).item(), &r_in);
  std::cout << "  relevance at the first block's input: " << sum(r_in).item() << "\n";
  EXPECT_NEAR(sum(r_in).item(), 1.0, 1e-6);
  // safe_divide as released: a / (b + 1e-9) where b != 0, 0 where b == 0
  const Tensor q = xai::safe_divide(Tensor::from_vector(std::vector<double>{1, 1, 1}, {3}),
                                    Tensor::from_vector(std::vector<double>{2, 0, -1e-9}, {3}));
  EXPECT_EQ(q.to_vector<double>(), (std::vector<double>{1 / (2 + 1e-9), 0, 1 / 1e-9}));
}

}  // namespace
}  // namespace ha::test
