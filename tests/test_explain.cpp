// Explanation maps and hidden attention of whole models against the PyTorch reference
// (scripts/make_reference.py, written from docs/definitions.md §4-5): the main 17-token model (every method and variant,
// cls vectors of all layers, full matrices of one layer), a 197-token model (the released code's cls 98,
// split 99, start layer 15 of 24) and a 730-token stride-8 model (cls 364). Plus degenerate inputs.
#include <gtest/gtest.h>

#include "models/load.h"
#include "models/preprocess.h"
#include "tensor/npy.h"
#include "tensor/parallel.h"
#include "tests/rollout_bound.h"
#include "tests/test_util.h"
#include "xai/explain.h"
#include "xai/hidden_attention.h"
#include "xai/registry.h"

namespace ha::test {
namespace {

const std::string kData = std::string(HATTN_TEST_DATA) + "/";

const char* kMapNames[] = {"raw_official", "rollout_official", "attr_official", "raw_exact", "rollout_exact",
                           "attr_exact",   "unified",          "saliency",      "gradxinput"};

// A Vim checkpoint as an explainable model, and one traced pass of it.
std::unique_ptr<xai::Explainable> vim(const std::string& path) { return xai::vision_mamba_explainable(load_vim(path)); }
xai::Trace trace_of(const xai::Explainable& m, const Tensor& image) { return std::move(m.trace(image)[0]); }

Tensor map_of(const xai::Explainable& m, const xai::Trace& ctx, const std::string& name) {
  xai::ExplainOptions o;
  std::string method = name;
  if (auto u = name.find('_'); u != std::string::npos) {
    method = name.substr(0, u);
    o.variant = xai::parse_variant(name.substr(u + 1));
  }
  return xai::explain(ctx, m.info(), xai::parse_method(method), o);
}

void compare_maps(const xai::Explainable& m, const xai::Trace& ctx, const std::string& dir, const std::string& label) {
  EXPECT_EQ(ctx.target, load_npy(dir + "top.npy").to_vector<int64_t>()[0]) << label;
  for (const char* name : kMapNames) {
    Tensor got = map_of(m, ctx, name);
    Tensor ref = load_npy(dir + "map_" + name + ".npy");
    if (std::string(name) == "rollout_exact")  // ill-conditioned: bounded by its conditioning (rollout_bound.h)
      expect_rollout_within_bound(got, ref, ctx, m.info(), tolerance("xai.rollout_input"), str(label, " ", name));
    else
      expect_close_scaled(got, ref, std::string("xai.map.") + name, str(label, " ", name));
  }
}

Tensor photo_224() {
  return normalize_image(preprocess_image(load_image(kData + "images/src_wide.png"), 224, Preprocess::Crop));
}

TEST(Explain, MainModelAllMethodsAndAttention) {
  auto model = vim(kData + "vim_ref/vim_ref.pth");
  const xai::Trace ctx = trace_of(*model, load_npy(kData + "vim_ref/image.npy"));
  const std::string dir = kData + "vim_ref/xai/";
  compare_maps(*model, ctx, dir, "L=17");
  const int64_t cls = model->info().default_query;
  for (auto [kind, name] : {std::pair{xai::RowKind::Official, "official"}, {xai::RowKind::Exact, "exact"},
                            {xai::RowKind::Unified, "unified"}}) {
    Tensor ref = load_npy(dir + "cls_" + name + ".npy");  // (depth, E, L)
    for (int64_t l = 0; l < model->info().layers; ++l)
      expect_close_scaled(ctx.mixers[l]->rows(cls, kind), ref.select(0, l), "xai.attention",
                          str("cls ", name, " layer ", l));
  }
  for (auto d : {xai::Direction::Fwd, xai::Direction::Bwd, xai::Direction::Sum})
    expect_close_scaled(ctx.mixers[1]->matrices(0, 16, xai::direction_name(d)),
                        load_npy(dir + "attn_l1_" + xai::direction_name(d) + ".npy"), "xai.attention",
                        str("layer 1 ", xai::direction_name(d), " channels 0:16"));
}

// The paper's ablations (Tables 5 and 6: --aggregate, --discard, --clamp) of rollout and attr, both variants,
// against their float64 definitions in scripts/make_ablation_reference.py.
TEST(Explain, AblationsMatchTheReference) {
  auto model = vim(kData + "vim_ref/vim_ref.pth");
  const xai::Trace ctx = trace_of(*model, load_npy(kData + "vim_ref/image.npy"));
  struct Case {
    xai::Method method;
    xai::Aggregate aggregate;
    double discard;
    xai::Clamp clamp;
  };
  // (prod is left to tests/test_families.cpp: over this model's 128 channels its maps vanish)
  const Case cases[] = {{xai::Method::Rollout, xai::Aggregate::Max, 0, xai::Clamp::Relu},
                        {xai::Method::Rollout, xai::Aggregate::Min, 0, xai::Clamp::Relu},
                        {xai::Method::Rollout, xai::Aggregate::Mean, 0.4, xai::Clamp::Relu},
                        {xai::Method::Attr, xai::Aggregate::Mean, 0, xai::Clamp::None},
                        {xai::Method::Attr, xai::Aggregate::Mean, 0, xai::Clamp::Abs},
                        {xai::Method::Attr, xai::Aggregate::Max, 0.2, xai::Clamp::Relu},
                        {xai::Method::Attr, xai::Aggregate::Min, 0.4, xai::Clamp::None}};
  for (xai::Variant v : {xai::Variant::Official, xai::Variant::Exact})
    for (const Case& c : cases) {
      xai::ExplainOptions o;
      o.variant = v;
      o.ablation = {c.aggregate, c.discard, c.clamp};
      const std::string name = str("ablation_", xai::method_name(c.method), "_", xai::variant_name(v), "_",
                                   xai::aggregate_name(c.aggregate), "_", c.discard, "_", xai::clamp_name(c.clamp));
      const Tensor got = xai::explain(ctx, model->info(), c.method, o), ref = load_npy(kData + "vim_ref/xai/" + name + ".npy");
      if (c.method == xai::Method::Attr || v == xai::Variant::Official) {
        expect_close_scaled(got, ref, "xai.map", name);
        continue;
      }
      // the exact rollout of an aggregate is as ill-conditioned as the plain one: held to the first-order bound of
      // its inputs, X_l the aggregate of layer l's channels, each moving by at most rtol of the largest |F_c| there
      std::vector<Tensor> X, dX;
      const int64_t layers = static_cast<int64_t>(ctx.mixers.size());
      for (int64_t l = model->info().default_start_layer; l < layers; ++l) {
        const Tensor F = ctx.mixers[l]->matrices(0, ctx.mixers[l]->channels()).to(DType::F64);
        X.push_back(xai::aggregate_channels(F, c.aggregate, c.discard));
        dX.push_back(mul(max(abs(F), 0).values, tolerance("xai.rollout_input").rtol));
      }
      expect_map_within_bound(got, ref, rollout_perturbation_bound(X, ctx.query, dX), model->info(), name);
    }
}

TEST(Explain, ReleasedConventionsAt197Tokens) {
  auto model = vim(kData + "vim_197/model.pth");
  EXPECT_EQ(model->info().default_query, 98);
  EXPECT_EQ(model->info().default_start_layer, 15);
  compare_maps(*model, trace_of(*model, photo_224()), kData + "vim_197/", "L=197");
}

TEST(Explain, Stride8At730Tokens) {
  auto model = vim(kData + "vim_730/model.pth");
  EXPECT_EQ(model->info().layout.stride, 8);
  EXPECT_EQ(model->info().default_query, 364);
  compare_maps(*model, trace_of(*model, photo_224()), kData + "vim_730/", "L=730");
}

// Same input, same bits: logits, every map and one layer's full attention across reruns and thread counts
// (1, the default, 3+), for the 197-token model (whose mixer runs its two directions as parallel tasks).
TEST(Explain, BitwiseDeterministicAcrossRunsAndThreadCounts) {
  auto model = vim(kData + "vim_197/model.pth");
  const Tensor image = photo_224();
  auto run = [&] {
    const xai::Trace ctx = trace_of(*model, image);
    std::vector<Tensor> out{ctx.logits, ctx.input_grad};
    for (const char* name : kMapNames) out.push_back(map_of(*model, ctx, name));
    out.push_back(ctx.mixers[20]->matrices(0, 8, "sum"));
    return out;
  };
  const int threads = num_threads();
  const std::vector<Tensor> first = run(), second = run();
  set_num_threads(1);
  const std::vector<Tensor> serial = run();
  set_num_threads(std::max(threads, 3));
  const std::vector<Tensor> wide = run();
  set_num_threads(threads);
  for (size_t i = 0; i < first.size(); ++i) {
    expect_bitwise_equal(first[i], second[i], str("rerun ", i));
    expect_bitwise_equal(first[i], serial[i], str("1 thread ", i));
    expect_bitwise_equal(first[i], wide[i], str("3+ threads ", i));
  }
}

// --query: the cls token itself gives the default maps; another token's raw map is the layer mean of
// min-max(F_l[:, q, :]) from the full matrices, and the official variant refuses it.
TEST(Explain, QueryTokenReadsThatRow) {
  std::shared_ptr<const VisionMamba> vm = load_vim(kData + "vim_ref/vim_ref.pth");
  auto model = xai::vision_mamba_explainable(vm);
  const xai::FamilyInfo& f = model->info();
  const xai::Trace ctx = trace_of(*model, load_npy(kData + "vim_ref/image.npy"));
  const VimConfig& c = vm->config();
  xai::ExplainOptions exact;
  exact.variant = xai::Variant::Exact;
  xai::ExplainOptions at_cls = exact;
  at_cls.query = c.cls_index();
  for (xai::Method m : {xai::Method::Raw, xai::Method::Rollout, xai::Method::Attr, xai::Method::Unified})
    expect_close(xai::explain(ctx, f, m, at_cls), xai::explain(ctx, f, m, exact), "exact", xai::method_name(m));
  xai::ExplainOptions q3 = exact;
  q3.query = 3;
  const int64_t start = f.default_start_layer, L = c.num_tokens();
  Tensor acc = Tensor::zeros({L}, DType::F64);
  for (int64_t l = start; l < c.depth; ++l) {
    const Tensor F = ctx.mixers[l]->matrices(0, c.expand * c.d_model, "sum");
    acc = add(acc, mean(xai::minmax(F.select(1, 3).to(DType::F64)), {0}));
  }
  acc = mul(acc, 1.0 / double(c.depth - start));
  const Tensor want = clamp(concat({acc.narrow(0, 0, c.cls_index()), acc.narrow(0, c.cls_index() + 1, L - c.cls_index() - 1)}, 0)
                                .reshape({c.grid(), c.grid()}), 0, INFINITY);
  expect_close_scaled(xai::explain(ctx, f, xai::Method::Raw, q3), want.to(DType::F32), "xai.map", "raw at token 3");
  EXPECT_GT(amax(abs(sub(xai::explain(ctx, f, xai::Method::Raw, q3), xai::explain(ctx, f, xai::Method::Raw, exact)))).item(),
            1e-3);
  xai::ExplainOptions official;
  official.query = 3;
  EXPECT_NE(error_of([&] { xai::explain(ctx, f, xai::Method::Raw, official); }).find("exact variant"), std::string::npos);
}

TEST(Explain, RolloutIsTheRowOfTheDenseProduct) {
  Generator g(3);
  const int64_t L = 9, cls = 4;
  std::vector<Tensor> X{uniform({L, L}, 0, 1, DType::F64, g), uniform({L, L}, 0, 1, DType::F64, g),
                        uniform({L, L}, 0, 1, DType::F64, g)};
  Tensor J = Tensor::zeros({L, L}, DType::F64);
  for (int64_t i = 0; i < L; ++i) raw::narrow(raw::narrow(J, 0, i, 1), 1, i, 1).fill_(1);
  for (const Tensor& x : X) {  // J = M_last ··· M_first
    Tensor M = add(x, Tensor::full({L}, 0.0, DType::F64).unsqueeze(0));
    for (int64_t i = 0; i < L; ++i) raw::narrow(raw::narrow(M, 0, i, 1), 1, i, 1).copy_(Tensor::scalar(x.at({i, i}) + 1, DType::F64));
    M = div(M, sum(M, {1}, true));
    J = matmul(M, J);
  }
  expect_close(xai::rollout(X, cls), J.select(0, cls), "attention.identity", "rollout row");
}

TEST(Explain, RandomIsSeededAndInRange) {
  auto model = vim(kData + "vim_ref/vim_ref.pth");
  const xai::FamilyInfo& f = model->info();
  const xai::Trace ctx = trace_of(*model, load_npy(kData + "vim_ref/image.npy"));
  xai::ExplainOptions o;
  o.seed = 7;
  Tensor a = xai::explain(ctx, f, xai::Method::Random, o), b = xai::explain(ctx, f, xai::Method::Random, o);
  expect_bitwise_equal(a, b, "same seed");
  EXPECT_GE(amin(a).item(), 0.0);
  EXPECT_LT(amax(a).item(), 1.0);
  o.seed = 8;
  EXPECT_NE(xai::explain(ctx, f, xai::Method::Random, o).to_vector<float>(), a.to_vector<float>());
}

TEST(Explain, DegenerateInputsGiveDefinedMaps) {
  std::shared_ptr<VisionMamba> model = load_vim(kData + "vim_ref/vim_ref.pth");
  auto ex = xai::vision_mamba_explainable(model);
  const xai::FamilyInfo& f = ex->info();
  const xai::Trace ctx = trace_of(*ex, Tensor::zeros({1, 3, 64, 64}));  // a constant image
  for (const xai::MethodSpec& spec : f.methods)
    for (xai::Variant v : {xai::Variant::Official, xai::Variant::Exact}) {
      xai::ExplainOptions o;
      if (!spec.variants.empty()) o.variant = v;
      Tensor map = xai::explain(ctx, f, spec.method, o);
      for (float x : map.to_vector<float>()) ASSERT_TRUE(std::isfinite(x) && x >= 0) << xai::method_name(spec.method);
    }
  EXPECT_EQ(xai::minmax(Tensor::full({3}, 2.0)).to_vector<float>(), (std::vector<float>{0, 0, 0}));
  // a checkpoint holding a NaN is refused by name
  const std::string path = ::testing::TempDir() + "nan.safetensors";
  raw::narrow(model->head.bias, 0, 3, 1).fill_(NAN);
  save_vim_safetensors(*model, path);
  std::string msg = error_of([&] { load_vim(path); });
  EXPECT_NE(msg.find("head.bias"), std::string::npos) << msg;
  EXPECT_NE(msg.find("non-finite"), std::string::npos) << msg;
  std::remove(path.c_str());
  xai::ExplainOptions start9;
  start9.variant = xai::Variant::Official;
  start9.start_layer = 9;
  EXPECT_NE(error_of([&] { xai::explain(ctx, f, xai::Method::Raw, start9); }).find("start layer"),
            std::string::npos);
}

}  // namespace
}  // namespace ha::test
