// MambaLRP (autograd/lrp.h): each rule's backward against its definition, the forward unchanged under the rules,
// the relevance of Vim (both variants) and both language models against the float64 PyTorch transcription of the
// released rules (scripts/make_lrp_reference.py), and conservation on bias-free models.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/checkpoint.h"
#include "autograd/lrp.h"
#include "models/load.h"
#include "models/load_lm.h"
#include "nn/module.h"
#include "ops/lrp_rules.h"
#include "tensor/npy.h"
#include "tensor/random.h"
#include "tests/test_util.h"
#include "xai/explain.h"
#include "xai/registry.h"

namespace ha::test {
namespace {

const std::string kData = std::string(HATTN_TEST_DATA) + "/";

LrpRules only(bool norms, bool silu, bool scan, bool half) { return {norms, silu, scan, half}; }

Tensor leaf(const Tensor& x) { return x.detach().clone().requires_grad_(); }

// ∂(Σ g ⊙ f(x))/∂x under `rules`
Tensor grad_under(const LrpRules& rules, const std::function<Tensor(const Tensor&)>& f, const Tensor& x0,
                  const Tensor& g) {
  Tensor x = leaf(x0);
  {
    const LrpScope scope(rules);
    sum(mul(f(x), g)).backward();
  }
  return x.grad();
}

TEST(LrpRules, SiluIsTheInputTimesAConstantRatio) {
  Generator gen(1);
  Tensor x0 = randn({40}, DType::F64, gen);
  x0.data<double>()[3] = 0.0;  // stabilize(0) = 1e-6: ratio 0
  x0.data<double>()[4] = -1e-7;
  const Tensor g = randn({40}, DType::F64, gen);
  const Tensor dx = grad_under(only(false, true, false, false), [](const Tensor& x) { return silu(x); }, x0, g);
  const std::vector<double> xv = x0.to_vector<double>(), gv = g.to_vector<double>(), dv = dx.to_vector<double>();
  for (size_t i = 0; i < xv.size(); ++i) {
    const double s = xv[i] / (1 + std::exp(-xv[i])), stab = xv[i] + (xv[i] >= 0 ? 1e-6 : -1e-6);
    // the op's sigmoid and this formula may each be a few ulp off (libm's exp differs between CPUs): 32 ulp of the
    // product's size, |g| · |c| with c ≤ 1.1
    EXPECT_NEAR(dv[i], gv[i] * s / stab, 32 * std::ldexp(std::abs(gv[i]) * 1.1, -52)) << "x = " << xv[i];
  }
  // outside a scope, and with the rule off, the plain derivative
  Tensor x = leaf(x0);
  sum(mul(silu(x), g)).backward();
  const Tensor plain = grad_under(only(true, false, true, true), [](const Tensor& y) { return silu(y); }, x0, g);
  expect_close(plain, x.grad(), "exact", "silu without the rule");
}

TEST(LrpRules, RmsNormHoldsItsScaleConstant) {
  Generator gen(2);
  const Tensor x0 = randn({3, 5, 8}, DType::F64, gen), w = randn({8}, DType::F64, gen), g = randn({3, 5, 8}, DType::F64, gen);
  const Tensor dx = grad_under(only(true, false, false, false), [&](const Tensor& x) { return rms_norm(x, w, 1e-5); },
                               x0, g);
  const Tensor r = rsqrt(add(mean(mul(x0, x0), {2}, true), 1e-5));
  expect_close(dx, mul(mul(g, w), r), "gradcheck", "dx = g w r");
  Tensor y;
  {
    const LrpScope scope(LrpRules::all());
    y = rms_norm(leaf(x0), w, 1e-5);
  }
  expect_close(y, rms_norm(x0, w, 1e-5), "exact", "the forward");
}

TEST(LrpRules, ProductOfTwoCarriersHalvesBoth) {
  Generator gen(3);
  const Tensor a0 = randn({4, 6}, DType::F64, gen), b0 = randn({6}, DType::F64, gen), g = randn({4, 6}, DType::F64, gen);
  Tensor a = leaf(a0), b = leaf(b0);
  {
    const LrpScope scope(only(false, false, false, true));
    sum(mul(mul(a, b), g)).backward();
  }
  expect_close(a.grad(), mul(mul(g, b0), 0.5), "exact", "da");
  expect_close(b.grad(), mul(sum(mul(g, a0), {0}), 0.5), "gradcheck", "db (broadcast)");
  // one carrier: the plain product rule
  const Tensor da = grad_under(only(false, false, false, true), [&](const Tensor& x) { return mul(x, b0); }, a0, g);
  expect_close(da, mul(g, b0), "exact", "one operand carries");
}

// The scan under constant_scan: its coefficients get no gradient; u's gradient is the plain one of the ungated scan
// (a linear map of u), and with the gate y ⊙ silu(z) each side gets half, z through the silu rule.
TEST(LrpRules, ScanIsLinearInItsInputAndTheGateHalves) {
  Generator gen(4);
  const int64_t B = 1, E = 3, L = 9, N = 4;
  const Tensor u0 = randn({B, E, L}, DType::F64, gen), dr = randn({B, E, L}, DType::F64, gen);
  const Tensor A = neg(add(rand({E, N}, DType::F64, gen), 0.5)), Bm0 = randn({B, N, L}, DType::F64, gen);
  const Tensor Cm0 = randn({B, N, L}, DType::F64, gen), D = randn({E}, DType::F64, gen);
  const Tensor z0 = randn({B, E, L}, DType::F64, gen), bias = randn({E}, DType::F64, gen), g = randn({B, E, L}, DType::F64, gen);
  Tensor u = leaf(u0), delta = leaf(dr), Bm = leaf(Bm0), Cm = leaf(Cm0), z = leaf(z0);
  Tensor y_lrp;
  {
    const LrpScope scope(LrpRules::all());
    y_lrp = selective_scan({u, delta, A, Bm, Cm, D, z, bias, true, false});
    sum(mul(y_lrp, g)).backward();
  }
  EXPECT_FALSE(delta.grad().defined());
  EXPECT_FALSE(Bm.grad().defined());
  EXPECT_FALSE(Cm.grad().defined());
  const Tensor y_plain = selective_scan({u0, dr, A, Bm0, Cm0, D, z0, bias, true, false});
  expect_close(y_lrp, y_plain, "scan.fused_vs_composite.f64", "the forward");
  // the references: the ungated scan's plain gradient, and its output
  const Tensor gate = silu(z0);
  Tensor u2 = leaf(u0);
  const Tensor y_core = selective_scan({u2, dr, A, Bm0, Cm0, D, Tensor(), bias, true, false});
  sum(mul(y_core, mul(mul(g, gate), 0.5))).backward();
  expect_close(u.grad(), u2.grad(), "gradcheck", "du: half the ungated scan's gradient");
  const Tensor stab = lrp_rule::stabilize(z0);
  expect_close(z.grad(), mul(mul(mul(g, y_core.detach()), div(gate, stab)), 0.5), "gradcheck", "dz: y c / 2");
}

TEST(LrpRules, ChunkedScanHoldsItsCoefficientsConstant) {
  Generator gen(5);
  const int64_t B = 1, H = 2, P = 3, G = 1, N = 4, L = 11;
  const Tensor x0 = randn({B, H * P, L}, DType::F64, gen), d0 = add(rand({B, H, L}, DType::F64, gen), 0.1);
  const Tensor A = neg(add(rand({H}, DType::F64, gen), 0.5)), B0 = randn({B, G * N, L}, DType::F64, gen);
  const Tensor C0 = randn({B, G * N, L}, DType::F64, gen), D = randn({H}, DType::F64, gen), g = randn({B, H * P, L}, DType::F64, gen);
  Tensor x = leaf(x0), delta = leaf(d0), Bm = leaf(B0), Cm = leaf(C0);
  {
    const LrpScope scope(LrpRules::all());
    sum(mul(ssd_chunked({x, delta, A, Bm, Cm, D, G, 4}), g)).backward();
  }
  EXPECT_FALSE(delta.grad().defined());
  EXPECT_FALSE(Bm.grad().defined());
  Tensor x2 = leaf(x0);
  sum(mul(ssd_chunked({x2, d0, A, B0, C0, D, G, 4}), g)).backward();
  expect_close(x.grad(), x2.grad(), "ssd.vs_recurrence.f64", "dx: the plain gradient of a linear map");
}

// A checkpointed function records under the rules of its forward, though its backward runs outside the scope.
TEST(LrpRules, CheckpointRecomputesUnderTheForwardsRules) {
  Generator gen(6);
  const Tensor x0 = randn({12}, DType::F64, gen), g = randn({12}, DType::F64, gen);
  Tensor x = leaf(x0), y;
  {
    const LrpScope scope(only(false, true, false, false));
    y = checkpoint([](const Tensor& v) { return silu(mul(v, 2.0)); }, x);
  }
  sum(mul(y, g)).backward();
  const Tensor want = grad_under(only(false, true, false, false), [](const Tensor& v) { return silu(mul(v, 2.0)); }, x0, g);
  expect_close(x.grad(), want, "exact", "checkpointed silu under the ratio rule");
}

// ---- whole models against the transcription of the released rules

xai::Trace lrp_trace(const xai::Explainable& m, const Tensor& input, const std::vector<xai::Target>& targets,
                     std::vector<xai::Variant> variants) {
  xai::TraceOptions o;
  o.gradients = false;
  o.lrp = std::move(variants);
  return std::move(m.trace(input, targets, o)[0]);
}

TEST(Lrp, VimBothVariantsMatchTheTranscription) {
  auto model = xai::vision_mamba_explainable(load_vim(kData + "vim_ref/vim_ref.pth"));
  const xai::FamilyInfo& f = model->info();
  const xai::Trace t = lrp_trace(*model, load_npy(kData + "vim_ref/image.npy"), {},
                                 {xai::Variant::Official, xai::Variant::Exact});
  EXPECT_EQ(t.target, load_npy(kData + "vim_ref/top.npy").to_vector<int64_t>()[0]);
  for (xai::Variant v : {xai::Variant::Official, xai::Variant::Exact}) {
    const std::string name = xai::variant_name(v);
    const Tensor ref = load_npy(kData + "vim_ref/xai/lrp_" + name + ".npy");
    expect_close_scaled(t.lrp.at(v), ref, "lrp.golden", "Vim relevance, " + name);
    xai::ExplainOptions o;
    o.variant = v;
    const Tensor map = xai::explain(t, f, xai::Method::Lrp, o);
    std::vector<float> cells;  // the patch tokens on the grid, clamped at 0
    const std::vector<float> r = ref.to_vector<float>();
    for (int64_t k : f.layout.patch_tokens) cells.push_back(std::max(r[k], 0.0f));
    expect_close_scaled(map, Tensor::from_vector(cells, f.layout.shape), "lrp.golden", "Vim map, " + name);
  }
}

TEST(Lrp, LanguageModelsMatchTheTranscription) {
  for (const char* arch : {"mamba1", "mamba2"}) {
    auto model = xai::mamba_lm_explainable(load_lm(kData + "lm_ref/" + arch + "_hf"));
    const std::vector<int64_t> qt = load_npy(kData + "lm_ref/" + arch + "_query_target.npy").to_vector<int64_t>();
    const std::vector<int64_t> ids = load_npy(kData + "lm_ref/" + arch + "_ids.npy").to_vector<int64_t>();
    const int64_t T = static_cast<int64_t>(ids.size());
    const xai::Trace t = lrp_trace(*model, Tensor::from_vector(ids, {1, T}), {{-1, qt[0]}}, {xai::Variant::Exact});
    EXPECT_EQ(t.target, qt[1]) << arch;
    expect_close_scaled(t.lrp.at(xai::Variant::Exact), load_npy(kData + "lm_ref/" + arch + "_lrp.npy"), "lrp.golden",
                        str(arch, " relevance"));
  }
}

// Σ R = the explained logit on bias-free models (conv biases and Vim's head bias zeroed), up to float32 rounding
// and the SiLU rule's stabiliser (1e-6 per activation): |Σ R − logit| ≤ ε Σ |R|.
constexpr double kConservation = 2e-5;

void zero_biases(nn::Module& m) {
  NoGradGuard ng;
  for (auto& [name, p] : m.named_parameters())
    if (name.find("conv1d") != std::string::npos && name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0)
      p.copy_(Tensor::zeros(p.shape(), p.dtype()));
    else if (name == "head.bias")
      p.copy_(Tensor::zeros(p.shape(), p.dtype()));
}

void expect_conserved(const Tensor& R, double logit, const std::string& what) {
  double abs_sum = 0;
  for (double v : R.to_vector<double>()) abs_sum += std::abs(v);
  const double total = sum(R).item();
  std::printf("  [%s] sum R %.6f, logit %.6f: |difference| / sum |R| = %.2e (bound %.0e)\n", what.c_str(), total, logit,
              std::abs(total - logit) / abs_sum, kConservation);
  EXPECT_NEAR(total, logit, kConservation * abs_sum) << what;
}

TEST(Lrp, ConservesRelevanceOnBiasFreeModels) {
  {
    auto vim = load_vim(kData + "vim_ref/vim_ref.pth");
    zero_biases(*vim);
    auto model = xai::vision_mamba_explainable(std::move(vim));
    const xai::Trace t = lrp_trace(*model, load_npy(kData + "vim_ref/image.npy"), {}, {xai::Variant::Exact});
    const Tensor& R = t.lrp.at(xai::Variant::Exact);
    const double logit = t.logits.to_vector<float>()[t.target];
    expect_conserved(R, logit, "Vim");
  }
  for (const char* arch : {"mamba1", "mamba2"}) {
    auto lm = load_lm(kData + "lm_ref/" + arch + "_hf");
    zero_biases(*lm);
    auto model = xai::mamba_lm_explainable(std::move(lm));
    const std::vector<int64_t> ids = load_npy(kData + "lm_ref/" + arch + "_ids.npy").to_vector<int64_t>();
    const int64_t T = static_cast<int64_t>(ids.size());
    const xai::Trace t = lrp_trace(*model, Tensor::from_vector(ids, {1, T}), {}, {xai::Variant::Exact});
    const Tensor& R = t.lrp.at(xai::Variant::Exact);
    const double logit = t.logits.select(0, t.query).to_vector<float>()[t.target];
    expect_conserved(R, logit, arch);
  }
}

// The forward under the rules is the plain model's: the gate's product, taken out of the fused scan, is the only
// change (one float32 rounding of y · silu(z)).
TEST(Lrp, ForwardUnderTheRulesIsThePlainForward) {
  auto vim = load_vim(kData + "vim_ref/vim_ref.pth");
  nn::freeze(*vim);
  const Tensor image = load_npy(kData + "vim_ref/image.npy");
  const Tensor plain = vim->forward(image).logits;
  Tensor lrp;
  {
    const LrpScope scope(LrpRules::all());
    VimForwardOptions o;
    o.tokens_require_grad = true;
    lrp = vim->forward(image, o).logits.detach();
  }
  expect_close_scaled(lrp, plain.detach(), "lrp.forward", "Vim logits under the rules");
}

}  // namespace
}  // namespace ha::test
