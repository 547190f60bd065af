// The explanation core's contract (xai/explainable.h), checked the same way for every registered family on the
// small test models: the registry tells the family from the file; a traced pass gives one mixer per layer whose
// rows, matrices and channel statistics agree; every method the family declares (each variant) gives a finite,
// non-negative map of the layout's shape; a method it lacks and a load option it does not take are refused by
// name. A new family registered in xai/registry.cpp gets these checks by adding its test model to kCases.
#include <gtest/gtest.h>

#include <algorithm>
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
    {"neox_ref/parallel", "gpt_neox", {}},
    {"bert_ref/tiny", "bert", {}},
};

// An input the family takes: a random normalised image, or `tokens` token ids.
Tensor input_for(const xai::FamilyInfo& f, uint64_t seed, int64_t tokens = 11) {
  Generator g(seed);
  if (f.modality == xai::Modality::Image) return randn({1, 3, f.img_size, f.img_size}, DType::F32, g);
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < tokens; ++i) ids.push_back((i * 7 + 3) % f.vocab);
  return Tensor::from_vector(ids, {1, tokens});
}

TEST(Families, RegistryTellsEachFamilyFromItsFile) {
  for (const Case& c : kCases) EXPECT_EQ(xai::family_of(xai::ModelFile(kData + c.path)).key, c.family) << c.path;
  EXPECT_NE(error_of([] { xai::load(kData + "images"); }), "");  // a folder of images is no model
}

// Token models twice: 11 tokens, and 150, past the blocks of 64 rows that the language models' sweeps use.
TEST(Families, MixersAgreeWithThemselves) {
  for (const Case& c : kCases)
   for (const int64_t tokens : {11, 150}) {
    xai::LoadOptions o;
    o.values = c.options;
    const auto model = xai::load(kData + c.path, o);
    const xai::FamilyInfo& f = model->info();
    if (f.modality == xai::Modality::Image && tokens != 11) continue;
    const xai::Trace t = std::move(model->trace(input_for(f, 5, tokens))[0]);
    ASSERT_EQ(static_cast<int64_t>(t.mixers.size()), f.layers) << c.path;
    const int64_t L = f.modality == xai::Modality::Image ? f.tokens : tokens, q = t.query;
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
      const std::string what = str(c.path, " L ", L, " layer ", l);
      expect_close_scaled(m.rows(q, xai::RowKind::Exact).to(DType::F64), M.select(1, q).contiguous(), "xai.operator",
                          what + " rows vs matrices");
      const xai::MixerStats& s = m.stats();
      expect_close_scaled(s.mean.to(DType::F64), mean(M, {0}), "xai.operator", what + " channel mean");
      expect_close_scaled(s.mean_relu.to(DType::F64), mean(relu(M), {0}), "xai.operator", what + " channel mean of relu");
      // the products rollout reads, against the mean matrix (families answer them by recurrences or from it)
      const Tensor X = mean(M, {0});
      expect_close_scaled(m.mean_row_sums(), sum(X, {1}), "xai.operator", what + " row sums of the channel mean");
      const Tensor w = randn({L}, DType::F64, *std::make_unique<Generator>(3));
      expect_close_scaled(m.mean_vecmat(w), matmul(w.reshape({1, L}), X).reshape({L}), "xai.operator",
                          what + " w^T times the channel mean");
      const double scale = std::max(std::abs(amin(M).item()), std::abs(amax(M).item()));
      EXPECT_NEAR(s.min, amin(M).item(), 1e-5 * scale) << what;
      EXPECT_NEAR(s.max, amax(M).item(), 1e-5 * scale) << what;
      if (f.causal) {  // nothing attends to a later token
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

// The ablations of rollout and attr (--aggregate, --discard, --clamp) against their definitions computed here
// from the full matrices (or the released rows), entry by entry in float64.
double quantile(std::vector<double> v, double f) {  // numpy.quantile, linear
  std::sort(v.begin(), v.end());
  const double pos = f * double(v.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  return lo + 1 < v.size() ? v[lo] + (v[lo + 1] - v[lo]) * (pos - double(lo)) : v[lo];
}

// (C, n) channels -> (n): each channel's entries below its f-quantile zeroed, then aggregated
std::vector<double> aggregate_by_hand(const std::vector<std::vector<double>>& ch, xai::Aggregate agg, double f) {
  const size_t n = ch[0].size();
  std::vector<double> out(n, agg == xai::Aggregate::Prod ? 1.0 : agg == xai::Aggregate::Max ? -INFINITY
                                                              : agg == xai::Aggregate::Min ? INFINITY : 0.0);
  for (std::vector<double> c : ch) {
    if (f > 0) {
      const double q = quantile(c, f);
      for (double& x : c) x = x < q ? 0 : x;
    }
    for (size_t k = 0; k < n; ++k) {
      if (agg == xai::Aggregate::Mean) out[k] += c[k] / double(ch.size());
      if (agg == xai::Aggregate::Max) out[k] = std::max(out[k], c[k]);
      if (agg == xai::Aggregate::Min) out[k] = std::min(out[k], c[k]);
      if (agg == xai::Aggregate::Prod) out[k] *= c[k];
    }
  }
  return out;
}

TEST(Families, AblationsFollowTheirDefinition) {
  struct Ablated {
    xai::Method method;
    xai::Variant variant;
    xai::Ablation ablation;
  };
  const std::vector<Ablated> cases = {
      {xai::Method::Rollout, xai::Variant::Exact, {xai::Aggregate::Max, 0, xai::Clamp::Relu}},
      {xai::Method::Rollout, xai::Variant::Exact, {xai::Aggregate::Mean, 0.5, xai::Clamp::Relu}},
      {xai::Method::Attr, xai::Variant::Exact, {xai::Aggregate::Min, 0.25, xai::Clamp::None}},
      {xai::Method::Attr, xai::Variant::Exact, {xai::Aggregate::Prod, 0, xai::Clamp::Abs}},
      {xai::Method::Attr, xai::Variant::Exact, {xai::Aggregate::Mean, 0, xai::Clamp::Abs}},
      {xai::Method::Attr, xai::Variant::Official, {xai::Aggregate::Max, 0.1, xai::Clamp::Relu}},
      {xai::Method::Rollout, xai::Variant::Official, {xai::Aggregate::Prod, 0, xai::Clamp::Relu}},
  };
  // the language model also at 150 tokens: past the 64-row blocks of its channel sweep
  for (const auto& [path, tokens] : std::vector<std::pair<std::string, int64_t>>{
           {"vim_ref/vim_ref.pth", 11}, {"lm_ref/mamba1_hf", 11}, {"lm_ref/mamba1_hf", 150}}) {
    const auto model = xai::load(kData + path);
    const xai::FamilyInfo& f = model->info();
    const xai::Trace t = std::move(model->trace(input_for(f, 9, tokens))[0]);
    const int64_t L = t.tokens(), q = t.query;
    for (const Ablated& a : cases) {
      if (a.variant == xai::Variant::Official && !f.find(a.method)->variants.size()) continue;  // no such variant
      const bool attr = a.method == xai::Method::Attr;
      std::vector<Tensor> X;
      for (int64_t l = f.default_start_layer; l < f.layers; ++l) {
        const xai::MixerOperator& m = *t.mixers[l];
        const int64_t C = m.channels();
        const Tensor F = a.variant == xai::Variant::Official ? m.rows(q, xai::RowKind::Official).to(DType::F64)
                                                             : m.matrices(0, C).to(DType::F64).reshape({C, L * L});
        std::vector<std::vector<double>> ch;
        double lo = INFINITY, hi = -INFINITY;
        for (int64_t c = 0; c < C; ++c) {
          ch.push_back(F.select(0, c).contiguous().to_vector<double>());
          for (double& x : ch.back()) {
            if (attr) x = a.ablation.clamp == xai::Clamp::Relu ? std::max(x, 0.0) : a.ablation.clamp == xai::Clamp::Abs ? std::abs(x) : x;
            lo = std::min(lo, x), hi = std::max(hi, x);
          }
        }
        if (attr)
          for (auto& c : ch)
            for (double& x : c) x = (x - lo) / (hi - lo);
        std::vector<double> agg = aggregate_by_hand(ch, a.ablation.aggregate, a.ablation.discard);
        if (a.variant == xai::Variant::Official) {  // every row the aggregated row
          std::vector<double> full;
          for (int64_t i = 0; i < L; ++i) full.insert(full.end(), agg.begin(), agg.end());
          agg = full;
        }
        if (attr) {
          const std::vector<double> s = xai::token_relevance(t.block_grads[l]).to_vector<double>();
          for (int64_t i = 0; i < L; ++i)
            for (int64_t j = 0; j < L; ++j) agg[i * L + j] *= s[j];
        }
        X.push_back(Tensor::from_vector(agg, {L, L}));
      }
      std::vector<double> tokens = xai::rollout(X, q).to_vector<double>();
      std::vector<float> want;
      if (f.modality == xai::Modality::Image) {
        for (int64_t k : f.layout.patch_tokens) want.push_back(std::max(static_cast<float>(tokens[k]), 0.0f));
      } else {
        for (int64_t j = 0; j < L; ++j) want.push_back(j > q ? 0.0f : std::max(static_cast<float>(tokens[j]), 0.0f));
      }
      if (a.ablation.aggregate != xai::Aggregate::Prod) {  // (a product over many channels may vanish)
        EXPECT_GT(*std::max_element(want.begin(), want.end()), 0.0f) << path << ": a map of zeros tests nothing";
      }
      xai::ExplainOptions o;
      if (!f.find(a.method)->variants.empty()) o.variant = a.variant;
      o.ablation = a.ablation;
      const Tensor got = xai::explain(t, f, a.method, o);
      expect_close_scaled(got.reshape({got.numel()}), Tensor::from_vector(want, {static_cast<int64_t>(want.size())}),
                          "xai.map", str(path, " ", xai::method_name(a.method), " ", xai::variant_name(a.variant), " ",
                                         xai::aggregate_name(a.ablation.aggregate), " discard ", a.ablation.discard,
                                         " clamp ", xai::clamp_name(a.ablation.clamp)));
    }
  }
  // a product below float32's range is kept (computed in float64 log space: relative error ~ ulp · |log|)
  const Tensor tiny = Tensor::from_vector(std::vector<double>{1e-30, 1e-30, -1e-150, 3.0}, {4, 1});
  EXPECT_NEAR(xai::aggregate_channels(tiny.narrow(0, 0, 2), xai::Aggregate::Prod, 0).item(), 1e-60, 1e-60 * 1e-13);
  EXPECT_NEAR(xai::aggregate_channels(tiny.narrow(0, 2, 2), xai::Aggregate::Prod, 0).item(), -3e-150, 3e-150 * 1e-13);
  const Tensor z = Tensor::from_vector(std::vector<double>{0.0, -2.0}, {2, 1});
  EXPECT_EQ(xai::aggregate_channels(z, xai::Aggregate::Prod, 0).item(), 0.0);
  // softmax attention has no such switches
  xai::LoadOptions vo;
  vo.values["heads"] = "3";
  const auto vit = xai::load(kData + "vit_ref/vit.pth", vo);
  const xai::Trace vt = std::move(vit->trace(input_for(vit->info(), 9))[0]);
  xai::ExplainOptions o;
  o.ablation.aggregate = xai::Aggregate::Max;
  EXPECT_NE(error_of([&] { xai::explain(vt, vit->info(), xai::Method::Rollout, o); }).find("softmax"), std::string::npos);
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
