// Mamba language models (Mamba-1 and Mamba-2) against the float64 PyTorch reference of
// scripts/make_lm_reference.py (itself checked against Hugging Face transformers 4.44.2): both released
// layouts (state-spaces .bin + config.json; Hugging Face safetensors, sharded, float16/bfloat16), the
// configuration from shapes and config.json, and the Mamba-2 mixer's float64 gradient.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "models/lm_generate.h"
#include "models/load_lm.h"
#include "models/recall_task.h"
#include "models/text/bpe_tokenizer.h"
#include "xai/token_ranking.h"
#include "xai/head_attention.h"
#include "xai/explain.h"
#include "xai/registry.h"
#include "xai/render.h"
#include "xai/token_heatmap.h"
#include "tensor/npy.h"
#include "tensor/random.h"
#include "tests/test_util.h"

namespace ha::test {
namespace {

const std::string kRef = std::string(HATTN_TEST_DATA) + "/lm_ref/";

TEST(Lm, ConfigurationFromShapesAndConfigJson) {
  std::string how;
  {
    const LmFiles files = find_lm_files(kRef + "mamba1_hf");
    ASSERT_EQ(files.weights.size(), 1u);
    const LmConfig c = infer_lm_config(open_lm_checkpoint(files), files, &how);
    EXPECT_EQ(c.family, LmFamily::Mamba1);
    EXPECT_EQ(c.d_model, 16);
    EXPECT_EQ(c.n_layer, 3);
    EXPECT_EQ(c.vocab, 40);
    EXPECT_EQ(c.d_inner, 32);
    EXPECT_EQ(c.d_state, 4);
    EXPECT_EQ(c.dt_rank, 2);
    EXPECT_EQ(c.d_conv, 4);
    EXPECT_TRUE(c.tied);
  }
  for (const char* layout : {"mamba2_hf", "mamba2_ss"}) {
    const LmFiles files = find_lm_files(kRef + layout);
    const LmConfig c = infer_lm_config(open_lm_checkpoint(files), files, &how);
    EXPECT_EQ(c.family, LmFamily::Mamba2) << layout;
    EXPECT_EQ(c.nheads, 4) << layout;
    EXPECT_EQ(c.ngroups, 2) << layout;
    EXPECT_EQ(c.d_state, 8) << layout;
    EXPECT_FALSE(c.tied) << layout;
  }
  EXPECT_EQ(find_lm_files(kRef + "mamba2_hf").weights.size(), 2u);  // the two shards of the index
  // a weights file names its folder's config.json
  EXPECT_EQ(find_lm_files(kRef + "mamba1_ss/pytorch_model.bin").config, kRef + "mamba1_ss/config.json");
}

TEST(Lm, MatchesPyTorchInBothLayouts) {
  for (const char* arch : {"mamba1", "mamba2"}) {
    const Tensor ids = load_npy(kRef + arch + "_ids.npy");
    const Tensor ref = load_npy(kRef + arch + "_logits.npy");
    for (const char* layout : {"_hf", "_ss"}) {
      const std::string what = std::string(arch) + layout;
      auto model = load_lm(kRef + what);
      NoGradGuard no_grad;
      const Tensor logits = model->forward(ids).logits;
      ASSERT_EQ(logits.shape(), (Shape{1, ref.size(0), ref.size(1)})) << what;
      expect_close_scaled(logits.reshape(ref.shape()), ref, "lm.forward", what);
    }
  }
}

TEST(Lm, BadFilesAreRefusedNamingThem) {
  const std::string dir = ::testing::TempDir() + "/lm_bad";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  EXPECT_NE(error_of([&] { find_lm_files(dir); }).find("no model weights"), std::string::npos);
  std::filesystem::copy_file(kRef + "mamba2_ss/pytorch_model.bin", dir + "/pytorch_model.bin",
                             std::filesystem::copy_options::overwrite_existing);
  {  // N and G that do not give conv1d's channels
    std::ofstream(dir + "/config.json") << R"({"d_model": 16, "ssm_cfg": {"layer": "Mamba2", "d_state": 5}})";
    const std::string e = error_of([&] { load_lm(dir); });
    EXPECT_NE(e.find("d_state"), std::string::npos) << e;
  }
  {  // a config that names the other family
    std::ofstream(dir + "/config.json") << R"({"model_type": "mamba", "n_groups": 2, "state_size": 8})";
    const std::string e = error_of([&] { load_lm(dir); });
    EXPECT_NE(e.find("says mamba1"), std::string::npos) << e;
  }
  {  // transformers writes Python's Infinity into Mamba-2 configs (time_step_limit): read, not refused
    std::ofstream(dir + "/config.json") << R"({"model_type": "mamba2", "n_groups": 2, "state_size": 8, )"
                                        << R"("time_step_limit": [0.0, Infinity]})";
    EXPECT_EQ(load_lm(dir)->config().ngroups, 2);
  }
  {  // an index that points at a missing shard
    const std::string idx = dir + "/model.safetensors.index.json";
    std::ofstream(idx) << R"({"weight_map": {"backbone.norm_f.weight": "model-00009-of-00009.safetensors"}})";
    const std::string e = error_of([&] { find_lm_files(dir); });
    EXPECT_NE(e.find("model-00009-of-00009.safetensors' is missing"), std::string::npos) << e;
    std::filesystem::remove(idx);
  }
}

// The Mamba-2 mixer is built from existing ops (the selective scan per group, rms_norm, ...); its gradient with
// respect to the input and every parameter, in float64, against central differences.
TEST(Lm, Mamba2MixerGradient) {
  nn::Mamba2Config c;
  c.d_model = 5;
  c.d_inner = 8;
  c.d_state = 3;
  c.d_conv = 3;
  c.nheads = 4;
  c.ngroups = 2;
  nn::Mamba2Mixer mixer(c);
  Generator gen(7);
  std::vector<Tensor> inputs = {
      randn({2, 9, c.d_model}, DType::F64, gen),
      mul(randn({c.nheads}, DType::F64, gen), 0.5),                                                // dt_bias
      log(uniform({c.nheads}, 1.0, 4.0, DType::F64, gen)),                                        // A_log
      randn({c.nheads}, DType::F64, gen),                                                          // D
      mul(randn({2 * c.d_inner + 2 * c.ngroups * c.d_state + c.nheads, c.d_model}, DType::F64, gen), 0.4),
      mul(randn({c.conv_dim(), 1, c.d_conv}, DType::F64, gen), 0.5),
      mul(randn({c.conv_dim()}, DType::F64, gen), 0.1),
      add(mul(randn({c.d_inner}, DType::F64, gen), 0.1), 1.0),                                     // norm.weight
      mul(randn({c.d_model, c.d_inner}, DType::F64, gen), 0.3)};
  gradcheck("mamba2_mixer", inputs, [&](const std::vector<Tensor>& x) {
    mixer.dt_bias = x[1];
    mixer.A_log = x[2];
    mixer.D = x[3];
    mixer.in_proj_weight = x[4];
    mixer.conv_weight = x[5];
    mixer.conv_bias = x[6];
    mixer.norm_weight = x[7];
    mixer.out_proj_weight = x[8];
    return mixer(x[0]);
  }, 24);
}

// The recurrent step (conv window + SSM state) gives the parallel forward's logits at every position, so greedy
// generation is the argmax of the full forward over prompt + generated tokens.
TEST(Lm, RecurrentStepEqualsParallelForward) {
  for (const char* what : {"mamba1_hf", "mamba2_hf"}) {
    auto model = load_lm(kRef + what);
    const std::string arch = std::string(what).substr(0, 6);
    const std::vector<int64_t> prompt = load_npy(kRef + arch + "_ids.npy").to_vector<int64_t>();
    const std::vector<int64_t> generated = generate_greedy(*model, prompt, 6);
    ASSERT_EQ(generated.size(), 6u) << what;
    std::vector<int64_t> all = prompt;
    all.insert(all.end(), generated.begin(), generated.end());
    NoGradGuard no_grad;
    const Tensor parallel = model->forward(Tensor::from_vector(all, {static_cast<int64_t>(all.size())})).logits;
    const int64_t T = static_cast<int64_t>(all.size()), V = parallel.size(2);
    for (bool ops : {false, true}) {  // the host loop and the tensor-op form (what GPUs run)
      const std::string form = str(what, ops ? " tensor ops" : " host loop");
      LmStepper stepper(*model, ops);
      std::vector<float> stepped;
      for (int64_t t = 0; t < T; ++t) {
        const std::vector<float> l = stepper.step(all[t]);
        stepped.insert(stepped.end(), l.begin(), l.end());
      }
      expect_close_scaled(Tensor::from_vector(stepped, {1, T, V}), parallel, "lm.step", form);
      // prefill (parallel forward, states taken from it) then steps: the same logits as stepping all the way, for
      // a prompt shorter than the conv window too
      for (int64_t P : {int64_t(2), static_cast<int64_t>(prompt.size())}) {
        LmStepper fast(*model, ops);
        std::vector<float> got = fast.prefill(std::vector<int64_t>(all.begin(), all.begin() + P));
        for (int64_t t = P; t < T; ++t) {
          const std::vector<float> l = fast.step(all[t]);
          got.insert(got.end(), l.begin(), l.end());
        }
        const Tensor want = Tensor::from_vector(stepped, {T, V}).narrow(0, P - 1, T - P + 1).contiguous();
        expect_close_scaled(Tensor::from_vector(got, {T - P + 1, V}), want, "lm.step", str(form, " prefill ", P));
      }
    }
    const Tensor argmax_parallel = argmax(parallel.reshape({T, V}), 1);
    for (size_t i = 0; i < generated.size(); ++i)
      EXPECT_EQ(generated[i], argmax_parallel.to_vector<int64_t>()[prompt.size() - 1 + i]) << what << " token " << i;
  }
}

// Hidden attention (layer 1, every channel / head) and every per-token map of the prediction at position 8,
// against the float64 reference.
// Sampling: the frequencies of 40,000 draws match softmax(z / T) within 5 standard deviations, top-k and top-p cut
// where their definitions say, temperature 0 is the argmax; equal seeds continue a prompt equally, and top-k 1 is
// greedy.
TEST(Lm, SamplingFollowsItsDefinition) {
  const std::vector<float> z = {2.0f, 1.0f, 0.0f, -1.0f, 1.0f};
  auto frequencies = [&](const Sampling& s) {
    Generator gen(s.seed);
    std::vector<double> f(z.size(), 0.0);
    for (int i = 0; i < 40000; ++i) f[sample_token(z, s, gen)] += 1.0 / 40000;
    return f;
  };
  auto expect_matches = [&](const std::vector<double>& got, const std::vector<double>& p, const std::string& what) {
    double total = 0;
    for (double x : p) total += x;
    for (size_t i = 0; i < p.size(); ++i) {
      const double want = p[i] / total, sd = std::sqrt(want * (1 - want) / 40000);
      EXPECT_NEAR(got[i], want, 5 * sd + 1e-12) << what << " token " << i;
    }
  };
  const double T = 1.5;
  std::vector<double> p;
  for (float x : z) p.push_back(std::exp(x / T));
  expect_matches(frequencies({T, 0, 1, 3}), p, "softmax");
  // top-k 3: tokens 0, 1, 4 (the lower id first among the tied 1.0s), renormalised
  expect_matches(frequencies({T, 3, 1, 4}), {p[0], p[1], 0, 0, p[4]}, "top-k 3");
  // top-p: sorted probabilities (0, 1, 4, 2, 3); the smallest prefix reaching 60 % of the mass
  double total = 0, mass = 0;
  for (double x : p) total += x;
  std::vector<double> nucleus(z.size(), 0.0);
  for (int i : {0, 1, 4, 2, 3}) {
    if (mass >= 0.6 * total) break;
    nucleus[i] = p[i];
    mass += p[i];
  }
  expect_matches(frequencies({T, 0, 0.6, 5}), nucleus, "top-p 0.6");
  Generator gen(1);
  EXPECT_EQ(sample_token(z, {0, 0, 1, 0}, gen), 0);  // greedy
  EXPECT_NE(error_of([&] { sample_token(z, {1, 0, 0, 0}, gen); }).find("top-p"), std::string::npos);

  auto model = load_lm(kRef + "mamba1_hf");
  const std::vector<int64_t> prompt = {1, 2, 3, 4};
  const Sampling warm{1.0, 0, 0.9, 7};
  EXPECT_EQ(generate(*model, prompt, 12, -1, warm), generate(*model, prompt, 12, -1, warm));
  EXPECT_EQ(generate(*model, prompt, 12, -1, {2.0, 1, 1, 3}), generate_greedy(*model, prompt, 12));
}

TEST(Lm, AttentionAndMapsMatchPyTorch) {
  for (const char* arch : {"mamba1", "mamba2"}) {
    auto model = xai::load(kRef + arch + "_hf");
    const xai::FamilyInfo& f = model->info();
    const std::vector<int64_t> ids = load_npy(kRef + arch + "_ids.npy").to_vector<int64_t>();
    const std::vector<int64_t> qt = load_npy(kRef + arch + "_query_target.npy").to_vector<int64_t>();
    const int64_t T = static_cast<int64_t>(ids.size());
    const xai::Trace ctx = std::move(model->trace(Tensor::from_vector(ids, {1, T}), {{-1, qt[0]}})[0]);
    EXPECT_EQ(ctx.target, qt[1]) << arch;
    EXPECT_EQ(f.modality, xai::Modality::Tokens) << arch;
    expect_close_scaled(ctx.mixers[1]->matrices(0, f.mixer_units), load_npy(kRef + arch + "_attn_l1.npy"),
                        "xai.attention", std::string(arch) + " attention");
    for (const xai::MethodSpec& spec : f.methods) {
      const xai::Method m = spec.method;
      if (m == xai::Method::Random || m == xai::Method::Lrp) continue;  // lrp: tests/test_lrp.cpp
      const std::string name = std::string(arch) + "_map_" + xai::method_name(m);
      const Tensor map = xai::explain(ctx, f, m);
      expect_close_scaled(map, load_npy(kRef + name + ".npy"), "xai.map", name);
      for (int64_t j = qt[0] + 1; j < map.size(0); ++j) EXPECT_EQ(map.to_vector<float>()[j], 0.0f) << name << " " << j;
    }
  }
  auto m2 = xai::mamba_lm_explainable(load_lm(kRef + "mamba2_hf"));
  const xai::Trace ctx = std::move(m2->trace(Tensor::from_vector(std::vector<int64_t>{1, 2, 3}, {1, 3}))[0]);
  EXPECT_EQ(ctx.query, 2);  // the last token by default
  EXPECT_NE(error_of([&] { xai::explain(ctx, m2->info(), xai::Method::Unified); }).find("Mamba-1 only"), std::string::npos);
}

// In float64: Σ_j α_h[i,j] x_j = y_i − D_h x_i for every channel of head h, with y from the recurrence itself,
// and head_rows is the matrices' row.
TEST(Lm, HeadAttentionIdentity) {
  nn::Mamba2Config c;
  c.d_model = 6;
  c.d_inner = 12;
  c.d_state = 5;
  c.nheads = 4;
  c.ngroups = 2;
  nn::Mamba2Mixer mixer(c);
  Generator gen(3);
  mixer.dt_bias = mul(randn({c.nheads}, DType::F64, gen), 0.5);
  mixer.A_log = log(uniform({c.nheads}, 1.0, 8.0, DType::F64, gen));
  mixer.D = randn({c.nheads}, DType::F64, gen);
  mixer.in_proj_weight = mul(randn({2 * c.d_inner + 2 * c.ngroups * c.d_state + c.nheads, c.d_model}, DType::F64, gen), 0.5);
  mixer.conv_weight = mul(randn({c.conv_dim(), 1, c.d_conv}, DType::F64, gen), 0.5);
  mixer.conv_bias = mul(randn({c.conv_dim()}, DType::F64, gen), 0.1);
  mixer.norm_weight = Tensor::ones({c.d_inner}, DType::F64);
  mixer.out_proj_weight = randn({c.d_model, c.d_inner}, DType::F64, gen);
  nn::Mamba2Trace t;
  NoGradGuard no_grad;
  mixer(randn({1, 23, c.d_model}, DType::F64, gen), &t);
  const int64_t H = c.nheads, P = c.headdim(), N = c.d_state, L = 23;
  const Tensor alpha = xai::head_attention_matrices(t, 0, 0, H);
  const std::vector<double> a = alpha.to_vector<double>(), x = t.x.to_vector<double>(), d = t.delta.to_vector<double>(),
                            B = t.Bm.to_vector<double>(), C = t.Cm.to_vector<double>(), A = t.A.to_vector<double>();
  const Tolerance tol = tolerance("attention.identity");
  for (int64_t h = 0; h < H; ++h) {
    const int64_t g = h * c.ngroups / H;
    for (int64_t p = 0; p < P; ++p) {
      const int64_t e = h * P + p;
      std::vector<double> s(N, 0.0);
      for (int64_t i = 0; i < L; ++i) {
        double y = 0, via_alpha = 0;
        for (int64_t n = 0; n < N; ++n) {
          s[n] = std::exp(d[h * L + i] * A[h]) * s[n] + d[h * L + i] * x[e * L + i] * B[(g * N + n) * L + i];
          y += s[n] * C[(g * N + n) * L + i];
        }
        for (int64_t j = 0; j < L; ++j) via_alpha += a[(h * L + i) * L + j] * x[e * L + j];
        EXPECT_NEAR(via_alpha, y, tol.atol + tol.rtol * std::abs(y)) << "head " << h << " channel " << p << " i " << i;
      }
    }
  }
  expect_close_scaled(xai::head_rows(t, 0, 17), alpha.select(1, 17), "exact", "head_rows");
}

// The recall task: distinct keys, the answer is the queried key's value at 2i + 1, deterministic per index,
// and the byte-level tokenizer.json written beside the models reads the text back into the same ids.
TEST(RecallTask, SamplesAndTheirTokenizer) {
  const std::string path = ::testing::TempDir() + "/byte_tokenizer.json";
  std::ofstream(path) << byte_tokenizer_json();
  const text::BpeTokenizer tk = text::BpeTokenizer::load(path);
  for (int64_t i = 0; i < 50; ++i) {
    const RecallSample s = recall_sample(3, i, 2 + i % 9);
    const int64_t K = 2 + i % 9, T = 2 * K + 2;
    ASSERT_EQ(static_cast<int64_t>(s.ids.size()), T);
    EXPECT_EQ(s.ids[T - 2], '|');
    std::set<int64_t> keys;
    for (int64_t k = 0; k < K; ++k) {
      EXPECT_TRUE(s.ids[2 * k] >= 'a' && s.ids[2 * k] <= 'z');
      EXPECT_TRUE(s.ids[2 * k + 1] >= '0' && s.ids[2 * k + 1] <= '9');
      keys.insert(s.ids[2 * k]);
    }
    EXPECT_EQ(static_cast<int64_t>(keys.size()), K) << "keys are distinct";
    EXPECT_EQ(s.ids[s.answer_position - 1], s.ids[T - 1]) << "the answer follows the queried key";
    EXPECT_EQ(s.ids[s.answer_position], s.answer);
    EXPECT_EQ(tk.encode(s.text()), s.ids);
    EXPECT_EQ(tk.decode(s.ids), s.text());
    EXPECT_EQ(recall_sample(3, i, K).ids, s.ids) << "a pure function of (seed, index)";
  }
  EXPECT_NE(recall_sample(3, 0, 8).ids, recall_sample(4, 0, 8).ids);
}

TEST(TokenRanking, TopOneAndAuc) {
  // query 4: candidates 0..3, positive 2
  auto s = xai::score_token_relevance({0.1f, 0.2f, 0.9f, 0.3f, 5.0f}, 4, 2);
  EXPECT_EQ(s.top1, 1.0);
  EXPECT_DOUBLE_EQ(s.auc, 1.0);
  s = xai::score_token_relevance({0.1f, 0.95f, 0.9f, 0.3f, 5.0f}, 4, 2);  // one candidate above
  EXPECT_EQ(s.top1, 0.0);
  EXPECT_DOUBLE_EQ(s.auc, 2.0 / 3.0);
  s = xai::score_token_relevance({0.9f, 0.0f, 0.9f, 0.0f, 0.0f}, 4, 2);  // a tie at the top: half, no hit
  EXPECT_EQ(s.top1, 0.0);
  EXPECT_DOUBLE_EQ(s.auc, 2.5 / 3.0);
  s = xai::score_token_relevance({0, 0, 0, 0, 1}, 4, 2);  // all equal: chance
  EXPECT_DOUBLE_EQ(s.auc, 0.5);
}

int64_t dark_pixels(const Image8& img) {
  int64_t n = 0;
  for (size_t i = 0; i < img.rgb.size(); i += 3) n += img.rgb[i] < 128 && img.rgb[i + 1] < 128 && img.rgb[i + 2] < 128;
  return n;
}

// A one-character string draws every stroke of its glyph (the text buffer was once sized by the average glyph
// and dropped strokes of short strings): "8" has half the ink of "88".
TEST(TokenHeatmap, ShortTextKeepsEveryStroke) {
  auto ink = [](const std::string& text) {
    Image8 img;
    img.width = 100;
    img.height = 40;
    img.rgb.assign(img.width * img.height * 3, 255);
    xai::draw_text(img, 2, 2, text, 2);
    return dark_pixels(img);
  };
  EXPECT_GT(ink("8"), 0);
  EXPECT_EQ(2 * ink("8"), ink("88"));
}

TEST(TokenHeatmap, HtmlAndPng) {
  const xai::TokenHeat h{{"<a>", " b", "c"}, {0.5f, 1.0f, 0.0f}, 1, "t & q"};
  const std::string html = xai::token_heatmap_html(h);
  EXPECT_NE(html.find("&lt;a&gt;"), std::string::npos);  // token text escaped
  EXPECT_NE(html.find("<title>t &amp; q</title>"), std::string::npos);
  EXPECT_NE(html.find("outline"), std::string::npos);  // the query
  EXPECT_NE(html.find("position 1: 1"), std::string::npos);
  const Image8 png = xai::token_heatmap_png(h);
  EXPECT_GT(png.width, 0);
  EXPECT_GT(dark_pixels(png), 0);
}

}  // namespace
}  // namespace ha::test
