// The explanation core's contract (xai/explainable.h), checked the same way for every registered family on the
// small test models: the registry tells the family from the file; a traced pass gives one mixer per layer whose
// rows, matrices and channel statistics agree; every method the family declares (each variant) gives a finite,
// non-negative map of the layout's shape; a method it lacks and a load option it does not take are refused by
// name. A new family registered in xai/registry.cpp gets these checks by adding its test model to kCases.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "ops/ops.h"
#include "tensor/random.h"
#include "tests/test_util.h"
#include "xai/explain.h"
#include "xai/registry.h"

namespace ha::test {
namespace {

const std::string kData = std::string(HATTN_TEST_DATA) + "/";

struct Case {
  std::string path, family;
  std::map<std::string, std::string> options;
};

const std::vector<Case> kCases = {
    {"vim_ref/vim_ref.pth", "vim", {}},
    {"vim_197/model.pth", "vim", {}},
    {"vit_ref/vit.pth", "vit", {{"heads", "3"}}},
    {"lm_ref/mamba1_hf", "mamba_lm", {}},
    {"lm_ref/mamba2_hf", "mamba_lm", {}},
};

// An input the family takes: a random normalised image, or 11 token ids.
Tensor input_for(const xai::FamilyInfo& f, uint64_t seed) {
  Generator g(seed);
  if (f.modality == xai::Modality::Image) return randn({1, 3, f.img_size, f.img_size}, DType::F32, g);
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < 11; ++i) ids.push_back((i * 7 + 3) % f.vocab);
  return Tensor::from_vector(ids, {1, 11});
}

TEST(Families, RegistryTellsEachFamilyFromItsFile) {
  for (const Case& c : kCases) EXPECT_EQ(xai::family_of(xai::ModelFile(kData + c.path)).key, c.family) << c.path;
  EXPECT_NE(error_of([] { xai::load(kData + "images"); }), "");  // a folder of images is no model
}

TEST(Families, MixersAgreeWithThemselves) {
  for (const Case& c : kCases) {
    xai::LoadOptions o;
    o.values = c.options;
    const auto model = xai::load(kData + c.path, o);
    const xai::FamilyInfo& f = model->info();
    const xai::Trace t = std::move(model->trace(input_for(f, 5))[0]);
    ASSERT_EQ(static_cast<int64_t>(t.mixers.size()), f.layers) << c.path;
    const int64_t L = t.tokens, q = t.query;
    ASSERT_GE(q, 0) << c.path;
    ASSERT_LT(q, L) << c.path;
    EXPECT_EQ(static_cast<int64_t>(model->streams(input_for(f, 5)).size()), f.layers) << c.path;
    for (int64_t l : {int64_t(0), f.layers - 1}) {
      const xai::MixerOperator& m = *t.mixers[l];
      const int64_t C = m.channels();
      EXPECT_EQ(C, f.mixer_units) << c.path;
      EXPECT_EQ(m.tokens(), L) << c.path;
      const Tensor M = m.matrices(0, C).to(DType::F64);
      ASSERT_EQ(M.shape(), (Shape{C, L, L})) << c.path;
      const std::string what = str(c.path, " layer ", l);
      expect_close_scaled(m.rows(q, xai::RowKind::Exact).to(DType::F64), M.select(1, q).contiguous(), "xai.operator",
                          what + " rows vs matrices");
      const xai::MixerStats& s = m.stats();
      expect_close_scaled(s.mean.to(DType::F64), mean(M, {0}), "xai.operator", what + " channel mean");
      expect_close_scaled(s.mean_relu.to(DType::F64), mean(relu(M), {0}), "xai.operator", what + " channel mean of relu");
      const double scale = std::max(std::abs(amin(M).item()), std::abs(amax(M).item()));
      EXPECT_NEAR(s.min, amin(M).item(), 1e-5 * scale) << what;
      EXPECT_NEAR(s.max, amax(M).item(), 1e-5 * scale) << what;
      if (t.causal) {  // nothing attends to a later token
        EXPECT_EQ(amax(abs(M.narrow(1, 0, 1).narrow(2, 1, L - 1))).item(), 0.0) << what;
      }
    }
  }
}

TEST(Families, EveryDeclaredMethodGivesAMapOfTheLayout) {
  const xai::Method all[] = {xai::Method::Raw,    xai::Method::Rollout,  xai::Method::Attr,       xai::Method::Unified,
                             xai::Method::Random, xai::Method::Saliency, xai::Method::GradXInput, xai::Method::Gae};
  for (const Case& c : kCases) {
    xai::LoadOptions o;
    o.values = c.options;
    const auto model = xai::load(kData + c.path, o);
    const xai::FamilyInfo& f = model->info();
    const xai::Trace t = std::move(model->trace(input_for(f, 6))[0]);
    for (xai::Method m : all) {
      const xai::MethodSpec* spec = f.find(m);
      if (!spec) {  // refused with the family's reason
        const std::string msg = error_of([&] { xai::explain(t, f, m); });
        EXPECT_NE(msg.find(xai::method_name(m)), std::string::npos) << c.path << ": " << msg;
        continue;
      }
      std::vector<std::optional<xai::Variant>> variants(spec->variants.begin(), spec->variants.end());
      if (variants.empty()) variants.push_back(std::nullopt);
      for (const std::optional<xai::Variant>& v : variants) {
        xai::ExplainOptions eo;
        eo.variant = v;
        const Tensor map = xai::explain(t, f, m, eo);
        EXPECT_EQ(map.shape(), Shape(t.layout.shape)) << c.path << " " << xai::method_name(m);
        for (float x : map.to_vector<float>()) ASSERT_TRUE(std::isfinite(x) && x >= 0) << c.path << " " << xai::method_name(m);
      }
    }
  }
}

TEST(Families, OptionsAFamilyDoesNotTakeAreRefused) {
  for (const Case& c : kCases) {
    const xai::ModelFile file(kData + c.path);
    const xai::FamilyEntry& family = xai::family_of(file);
    for (const xai::FamilyEntry& other : xai::families())
      for (const xai::LoadOption& option : other.load_options) {
        const std::string& name = option.name;
        if (xai::takes_load_option(family, name)) continue;
        xai::LoadOptions o;
        o.values[name] = "1";
        const std::string msg = error_of([&] { xai::load(kData + c.path, o); });
        EXPECT_NE(msg.find("'" + name + "'"), std::string::npos) << c.path << ": " << msg;
      }
  }
}

// A family without the query option reads the row of the token its trace was run for; asking another is refused.
TEST(Families, QueryOnlyWhereTheFamilyTakesIt) {
  for (const char* path : {"vit_ref/vit.pth", "lm_ref/mamba1_hf"}) {
    xai::LoadOptions o;
    if (std::string(path).rfind("vit", 0) == 0) o.values["heads"] = "3";
    const auto model = xai::load(kData + path, o);
    const xai::FamilyInfo& f = model->info();
    const xai::Trace t = std::move(model->trace(input_for(f, 8))[0]);
    xai::ExplainOptions eo;
    eo.query = t.query == 0 ? 1 : 0;
    EXPECT_NE(error_of([&] { xai::explain(t, f, xai::Method::Rollout, eo); }).find("trace again"), std::string::npos)
        << path;
  }
}

// Language-model weights without a config.json: recognised by their tensor names, configured from the shapes.
TEST(Families, LanguageModelWeightsWithoutConfig) {
  const std::string dir = ::testing::TempDir() + "lm_without_config";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(kData + "lm_ref/mamba1_hf/model.safetensors", dir + "/model.safetensors",
                             std::filesystem::copy_options::overwrite_existing);
  for (const std::string& path : {dir, dir + "/model.safetensors"}) {
    EXPECT_EQ(xai::family_of(xai::ModelFile(path)).key, "mamba_lm") << path;
    EXPECT_EQ(xai::load(path)->info().modality, xai::Modality::Tokens) << path;
  }
  std::filesystem::remove_all(dir);
}

TEST(Families, DistilledDeitIsClassifiedButNotExplained) {
  xai::LoadOptions o;
  o.values["heads"] = "3";
  const auto model = xai::load(kData + "vit_ref/deit_dist.pth", o);
  const xai::FamilyInfo& f = model->info();
  EXPECT_TRUE(f.methods.empty());
  const Tensor x = input_for(f, 7);
  EXPECT_EQ(model->logits(x).shape(), (Shape{1, f.num_classes}));
  const xai::Trace t = std::move(model->trace(x)[0]);
  EXPECT_NE(error_of([&] { xai::explain(t, f, xai::Method::Rollout); }).find("distilled"), std::string::npos);
}

}  // namespace
}  // namespace ha::test
