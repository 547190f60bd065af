// GPT-NeoX (Pythia) against the float64 PyTorch transcription of scripts/make_neox_reference.py (itself checked
// against Hugging Face transformers 4.44.2): the configuration from the files, logits and every layer's attention
// for both residual forms, the maps of the explanation core (attr: Transformer-Attribution with the released rules
// as transcribed in scripts/make_vit_reference.py), the rotary embedding against its definition and by finite
// differences, and the loader's refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "models/gpt_neox_generate.h"
#include "models/load_gpt_neox.h"
#include "tensor/npy.h"
#include "tensor/random.h"
#include "tests/test_util.h"
#include "xai/explain.h"
#include "xai/registry.h"
#include "xai/transformer_lrp.h"

namespace ha::test {
namespace {

const std::string kRef = std::string(HATTN_TEST_DATA) + "/neox_ref/";

TEST(GptNeox, ConfigurationFromTheFiles) {
  const GptNeoxConfig p = load_gpt_neox(kRef + "parallel")->config();
  EXPECT_EQ(p.d_model, 32);
  EXPECT_EQ(p.n_layer, 3);
  EXPECT_EQ(p.heads, 4);
  EXPECT_EQ(p.d_ff, 72);
  EXPECT_EQ(p.vocab, 50);
  EXPECT_EQ(p.rotary_dims(), 4);
  EXPECT_TRUE(p.parallel_residual);
  EXPECT_TRUE(p.attention_bias);
  const GptNeoxConfig s = load_gpt_neox(kRef + "sequential/model.safetensors")->config();
  EXPECT_EQ(s.heads, 3);
  EXPECT_EQ(s.rotary_dims(), 8);
  EXPECT_EQ(s.rotary_base, 500);
  EXPECT_FALSE(s.parallel_residual);
  EXPECT_FALSE(s.attention_bias);
  EXPECT_TRUE(looks_like_gpt_neox(kRef + "parallel"));
  EXPECT_FALSE(looks_like_gpt_neox(std::string(HATTN_TEST_DATA) + "/lm_ref/mamba1_hf"));
}

TEST(GptNeox, LogitsAndAttentionMatchPyTorch) {
  for (const char* name : {"parallel", "sequential"}) {
    const auto model = load_gpt_neox(kRef + name);
    const std::vector<int64_t> ids = load_npy(kRef + name + "_ids.npy").to_vector<int64_t>();
    const int64_t T = static_cast<int64_t>(ids.size());
    GptNeoxForwardOptions o;
    o.attentions = true;
    const GptNeoxOutput out = model->forward(Tensor::from_vector(ids, {T}), o);
    expect_close_scaled(out.logits.reshape({T, model->config().vocab}), load_npy(kRef + name + "_logits.npy"),
                        "lm.forward", str(name, " logits"));
    std::vector<Tensor> layers;
    for (const Tensor& a : out.attentions) layers.push_back(a.select(0, 0));
    expect_close_scaled(stack(layers, 0), load_npy(kRef + name + "_attn.npy"), "xai.attention", str(name, " attention"));
  }
}

TEST(GptNeox, MapsMatchPyTorch) {
  for (const char* name : {"parallel", "sequential"}) {
    const auto model = xai::load(kRef + name);
    const xai::FamilyInfo& f = model->info();
    EXPECT_EQ(f.key, "gpt_neox");
    const std::vector<int64_t> qt = load_npy(kRef + name + "_query_target.npy").to_vector<int64_t>();
    const std::vector<int64_t> ids = load_npy(kRef + name + "_ids.npy").to_vector<int64_t>();
    const int64_t T = static_cast<int64_t>(ids.size());
    const xai::Trace t = std::move(model->trace(Tensor::from_vector(ids, {1, T}), {{-1, qt[0]}})[0]);
    EXPECT_EQ(t.target, qt[1]) << name;
    for (const xai::MethodSpec& spec : f.methods) {
      if (spec.method == xai::Method::Random) continue;
      const std::string m = xai::method_name(spec.method);
      const Tensor map = xai::explain(t, f, spec.method), ref = load_npy(kRef + name + "_map_" + m + ".npy");
      expect_close_scaled(map, ref, "xai.map", str(name, " ", m));
      // attr and gae put most of the map on the query itself, so the check above barely sees the earlier tokens:
      // each is held to 1e-4 of their own largest value, plus the float32 rounding (64 ulp) of the map's largest
      // entry, which the rollout's row normalisation carries into the others
      const std::vector<float> a = map.to_vector<float>(), b = ref.to_vector<float>();
      double before = 0, peak = 0;
      for (int64_t j = 0; j < T; ++j) peak = std::max(peak, std::abs(double(b[j])));
      for (int64_t j = 0; j < qt[0]; ++j) before = std::max(before, std::abs(double(b[j])));
      const double bound = 1e-4 * before + 64 * std::ldexp(peak, -24);
      double worst = 0;
      for (int64_t j = 0; j < qt[0]; ++j) worst = std::max(worst, std::abs(double(a[j]) - double(b[j])) / bound);
      std::printf("  [%s %s before q] worst |err| / bound %.3g (bound %.3g)\n", name, m.c_str(), worst, bound);
      EXPECT_LE(worst, 1.0) << name << " " << m;
      for (int64_t j = qt[0] + 1; j < T; ++j) EXPECT_EQ(map.to_vector<float>()[j], 0.0f) << name << " " << m;
    }
    EXPECT_THROW(xai::explain(t, f, xai::Method::Lrp), InputError);
  }
}

// The rotary embedding against its definition (float64), and its gradient by finite differences: it is composed
// of differentiable ops, so the check covers the composition (odd and even positions, rotated and passed dims).
// attr starts at the head with a one-hot relevance; the relevance pass applies the linear rule to the target's row
// of the head alone (xai/gpt_neox_lrp.cpp), which must give what the rule gives on the whole head: every other
// row's share is 0 / its logit = 0.
TEST(GptNeox, HeadRuleOnTheTargetRowEqualsTheWholeHead) {
  Generator g(8);
  const Tensor W = randn({37, 16}, DType::F32, g), x = randn({1, 16}, DType::F64, g);
  for (int64_t target : {0, 11, 36}) {
    Tensor one_hot = Tensor::zeros({1, 37}, DType::F64);
    one_hot.data<double>()[target] = 1.0;
    const Tensor whole = xai::relevance_linear(one_hot, x, W);
    const Tensor row = xai::relevance_linear(Tensor::full({1, 1}, 1.0, DType::F64), x, W.narrow(0, target, 1));
    EXPECT_EQ(row.to_vector<double>(), whole.to_vector<double>()) << target;
  }
}

TEST(GptNeox, RotaryEmbeddingFollowsItsDefinition) {
  GptNeoxConfig c;
  c.d_model = 12, c.heads = 2, c.rotary_pct = 0.67, c.rotary_base = 100;  // hd 6, r 4
  ASSERT_EQ(c.rotary_dims(), 4);
  const int64_t T = 5, hd = 6, r = 4;
  const auto [cos, sin] = rotary_tables(c, T, Device::cpu());
  Generator gen(3);
  const Tensor x = randn({2, T, hd}, DType::F64, gen);
  const Tensor y = apply_rotary(x, cos.to(DType::F64), sin.to(DType::F64));
  const std::vector<double> xv = x.to_vector<double>(), yv = y.to_vector<double>();
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t t = 0; t < T; ++t) {
      const double* in = &xv[(h * T + t) * hd];
      const double* out = &yv[(h * T + t) * hd];
      for (int64_t i = 0; i < r / 2; ++i) {  // the pair (i, i + r/2) turns by t·θ_i
        const double theta = double(float(t) * (1.0f / float(std::pow(100.0, double(2 * i) / r))));
        const double cs = std::cos(theta), sn = std::sin(theta);
        EXPECT_NEAR(out[i], in[i] * cs - in[i + r / 2] * sn, 1e-6);
        EXPECT_NEAR(out[i + r / 2], in[i + r / 2] * cs + in[i] * sn, 1e-6);
      }
      for (int64_t i = r; i < hd; ++i) EXPECT_EQ(out[i], in[i]);
    }
  gradcheck("apply_rotary", {x},
            [&](const std::vector<Tensor>& in) { return apply_rotary(in[0], cos.to(DType::F64), sin.to(DType::F64)); });
}

// Generation: the prompt in one pass, then one token at a time against the cached keys and values, equal to the
// parallel forward at every position; and greedy decoding equal to re-running the whole sequence each time.
TEST(GptNeox, StepsWithCachedKeysEqualTheParallelForward) {
  for (const char* name : {"parallel", "sequential"}) {
    const auto model = load_gpt_neox(kRef + name);
    const std::vector<int64_t> ids = load_npy(kRef + name + "_ids.npy").to_vector<int64_t>();
    const int64_t T = static_cast<int64_t>(ids.size()), V = model->config().vocab;
    const Tensor full = model->forward(Tensor::from_vector(ids, {T})).logits.reshape({T, V});
    for (int64_t prompt : {1, 5}) {
      GptNeoxStepper s(*model);
      std::vector<float> got = s.prefill(std::vector<int64_t>(ids.begin(), ids.begin() + prompt));
      for (int64_t t = prompt; t < T; ++t) {
        const std::vector<float> next = s.step(ids[t]);
        got.insert(got.end(), next.begin(), next.end());
      }
      expect_close_scaled(Tensor::from_vector(got, {T - prompt + 1, V}), full.narrow(0, prompt - 1, T - prompt + 1),
                          "lm.step", str(name, ": prompt of ", prompt, ", then steps"));
    }
    std::vector<int64_t> seq(ids.begin(), ids.begin() + 4), naive;
    for (int k = 0; k < 4; ++k) {  // the argmax of a whole forward each time
      const Tensor l = model->forward(Tensor::from_vector(seq, {static_cast<int64_t>(seq.size())})).logits;
      seq.push_back(argmax(l.select(0, 0).select(0, l.size(1) - 1), 0).to_vector<int64_t>()[0]);
      naive.push_back(seq.back());
    }
    GptNeoxStepper s(*model);
    EXPECT_EQ(generate(s, std::vector<int64_t>(ids.begin(), ids.begin() + 4), 4), naive) << name;
  }
}

TEST(GptNeox, RefusesWhatItCannotRead) {
  const std::string dir = ::testing::TempDir() + "/neox_bad";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(kRef + "parallel/model.safetensors", dir + "/model.safetensors",
                             std::filesystem::copy_options::overwrite_existing);
  std::ifstream in(kRef + "parallel/config.json");
  const std::string cfg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = cfg;
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    s.replace(at, from.size(), to);
    std::ofstream(dir + "/config.json") << s;
  };
  with("\"num_attention_heads\": 4", "\"num_attention_heads\": 5");
  EXPECT_NE(error_of([&] { load_gpt_neox(dir); }).find("num_attention_heads"), std::string::npos);
  with("\"hidden_act\": \"gelu\"", "\"hidden_act\": \"relu\"");
  EXPECT_NE(error_of([&] { load_gpt_neox(dir); }).find("hidden_act"), std::string::npos);
  with("\"vocab_size\": 50", "\"vocab_size\": 51");
  EXPECT_NE(error_of([&] { load_gpt_neox(dir); }).find("vocab_size"), std::string::npos);
  std::filesystem::remove(dir + "/config.json");
  EXPECT_FALSE(looks_like_gpt_neox(dir));
}

}  // namespace
}  // namespace ha::test
