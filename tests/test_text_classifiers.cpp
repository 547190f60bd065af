// Decoder classifiers (docs/definitions.md §11): GPT-NeoX with Hugging Face's score.weight, Mamba-1 with the same,
// Mamba-2 in MambaLRP's layout (an lm_head with the classes' rows and a bias), against scripts/
// make_classifier_reference.py (the GPT-NeoX one checked there against transformers 4.44.2): the family and class
// names from the files, the class logits at the last token, maps explaining a class, and the refusals.
#include <gtest/gtest.h>

#include "models/load_gpt_neox.h"
#include "models/load_lm.h"
#include "tensor/npy.h"
#include "tests/test_util.h"
#include "xai/explain.h"
#include "xai/registry.h"

namespace ha::test {
namespace {

const std::string kRef = std::string(HATTN_TEST_DATA) + "/classifier_ref/";

TEST(TextClassifiers, LogitsAndMapsMatchTheReference) {
  const std::map<std::string, std::string> family = {{"neox", "gpt_neox"}, {"mamba1", "mamba_lm"}, {"mamba2", "mamba_lm"}};
  for (const auto& [name, key] : family) {
    const auto model = xai::load(kRef + name);
    const xai::FamilyInfo& f = model->info();
    EXPECT_EQ(f.key, key);
    EXPECT_TRUE(f.classifies_tokens()) << name;
    EXPECT_EQ(f.class_names, (std::vector<std::string>{"no", "maybe", "yes"})) << name;
    const std::vector<int64_t> ids = load_npy(kRef + name + "_ids.npy").to_vector<int64_t>();
    const int64_t T = static_cast<int64_t>(ids.size());
    const Tensor input = Tensor::from_vector(ids, {1, T});
    const Tensor want = load_npy(kRef + name + "_logits.npy");
    expect_close_scaled(model->logits(input).reshape({f.num_classes}), want, "lm.forward", name + " logits");
    const int64_t target = load_npy(kRef + name + "_target.npy").to_vector<int64_t>()[0];
    const xai::Trace t = std::move(model->trace(input, {{target, -1}})[0]);
    EXPECT_EQ(t.query, T - 1);
    EXPECT_EQ(t.target, target);
    expect_close_scaled(t.logits.reshape({f.num_classes}), want, "lm.forward", name + " traced logits");
    const std::vector<std::string> methods =
        name == "neox" ? std::vector<std::string>{"raw", "rollout", "attr", "gae", "saliency", "gradxinput"}
                       : std::vector<std::string>{"attr", "lrp"};
    for (const std::string& m : methods) {
      const Tensor ref = clamp(load_npy(kRef + name + "_map_" + m + ".npy"), 0, INFINITY);
      expect_close_scaled(xai::explain(t, f, xai::parse_method(m)), ref, m == "lrp" ? "lrp.golden" : "xai.map",
                          name + " " + m);
    }
  }
}

TEST(TextClassifiers, ConfigurationAndRefusals) {
  EXPECT_EQ(load_gpt_neox(kRef + "neox")->config().labels, 3);
  const LmConfig m1 = load_lm(kRef + "mamba1")->config(), m2 = load_lm(kRef + "mamba2")->config();
  EXPECT_EQ(m1.labels, 3);
  EXPECT_FALSE(m1.head_bias);
  EXPECT_EQ(m2.labels, 3);
  EXPECT_TRUE(m2.head_bias);
  EXPECT_EQ(load_lm(std::string(HATTN_TEST_DATA) + "/lm_ref/mamba1_hf")->config().labels, 0);
  const auto model = xai::load(kRef + "mamba2");
  const Tensor input = Tensor::from_vector(std::vector<int64_t>{1, 2, 3, 4}, {1, 4});
  EXPECT_NE(error_of([&] { model->trace(input, {{-1, 1}}); }).find("last token"), std::string::npos);
  EXPECT_NE(error_of([&] { model->trace(input, {{3, -1}}); }).find("class"), std::string::npos);
}

}  // namespace
}  // namespace ha::test
