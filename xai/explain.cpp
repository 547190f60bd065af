#include "xai/explain.h"

#include <cmath>

#include "ops/ops.h"
#include "tensor/random.h"
#include "xai/hidden_attention.h"

namespace ha::xai {

ExplainContext run_explain_pass(const VisionMamba& model, const Tensor& input, int64_t target) {
  HATTN_CHECK(input.dim() == 4 && input.size(0) == 1, "explain: expects one image, shape (1, 3, H, W); got ",
              describe(input));
  return std::move(run_explain_pass_batch(model, input, {target})[0]);
}

std::vector<ExplainContext> run_explain_pass_batch(const VisionMamba& model, const Tensor& inputs,
                                                   const std::vector<int64_t>& targets) {
  HATTN_CHECK(inputs.dim() == 4 && inputs.size(0) >= 1, "explain: expects images of shape (B, 3, H, W); got ",
              describe(inputs));
  const int64_t B = inputs.size(0);
  HATTN_CHECK(targets.empty() || static_cast<int64_t>(targets.size()) == B, "explain: ", targets.size(),
              " targets for ", B, " images");
  // The pass runs where the model's parameters are (CPU or CUDA); everything the methods read comes back
  // to the CPU at the end.
  const Device dev = model.patch_embed.weight.device();
  Tensor input = inputs.detach().to(DType::F32).contiguous().to(dev).requires_grad_();
  // Explanations read input-side gradients only: with the parameters frozen for this pass the backward
  // skips every weight gradient (about a third of its work) and leaves the model's .grad untouched.
  const nn::FrozenParameters frozen(model);
  VimOutput out = model.forward(input, {true, true});
  const Tensor logits = out.logits.detach().to(Device::cpu());
  const int64_t classes = logits.size(1);
  for (float v : logits.to_vector<float>())
    HATTN_CHECK_INPUT(std::isfinite(v), "explain: the model produced a non-finite logit; the checkpoint or image is damaged");
  const std::vector<int64_t> best = argmax(logits, 1).to_vector<int64_t>();
  // d (sum over b of logit[b, target_b]): each image's gradient is that of its own target logit
  Tensor pick = Tensor::zeros({B, classes});
  std::vector<ExplainContext> ctx(B);
  for (int64_t b = 0; b < B; ++b) {
    ctx[b].cfg = model.config();
    ctx[b].target = targets.empty() || targets[b] < 0 ? best[b] : targets[b];
    HATTN_CHECK_INPUT(ctx[b].target >= 0 && ctx[b].target < classes, "explain: class ", ctx[b].target,
                      " out of range [0, ", classes, ")");
    pick.data<float>()[b * classes + ctx[b].target] = 1.0f;
  }
  sum(mul(out.logits, pick.to(dev))).backward();
  auto cpu = [](const Tensor& t) { return t.defined() ? t.to(Device::cpu()) : t; };
  const Tensor input_grad = cpu(input.grad()), input_cpu = cpu(input.detach());
  std::vector<Tensor> grads;
  for (const Tensor& h : out.block_outputs) {
    HATTN_CHECK(h.grad().defined(), "explain: a block output received no gradient");
    grads.push_back(cpu(h.grad()));
  }
  for (int64_t b = 0; b < B; ++b) {
    ExplainContext& c = ctx[b];
    c.logits = logits.narrow(0, b, 1).contiguous();
    c.input = input_cpu.narrow(0, b, 1).contiguous();
    c.input_grad = input_grad.select(0, b).contiguous();
    for (const Tensor& g : grads) c.block_grads.push_back(g.select(0, b).contiguous());
    // traces stay on the model's device (cls_rows and attention_matrices run there); per image, a view of
    // its batch row
    for (const nn::MixerTrace& t : out.traces) {
      auto row = [&](const nn::DirectionTrace& d) {
        nn::DirectionTrace r = d;
        for (Tensor* x : {&r.delta, &r.Bm, &r.Cm, &r.z, &r.pre})
          if (x->defined() && B > 1) *x = x->narrow(0, b, 1);
        return r;
      };
      c.traces.push_back({row(t.fwd), row(t.bwd)});
    }
  }
  return ctx;
}

Method parse_method(const std::string& s) {
  for (Method m : all_methods())
    if (s == method_name(m)) return m;
  if (s == "gae") return Method::Gae;
  throw InputError(str("unknown method '", s, "' (choose raw, rollout, attr, unified, random, saliency, gradxinput, ",
                       "gae (ViT) or all)"));
}

const char* method_name(Method m) {
  switch (m) {
    case Method::Raw: return "raw";
    case Method::Rollout: return "rollout";
    case Method::Attr: return "attr";
    case Method::Unified: return "unified";
    case Method::Random: return "random";
    case Method::Saliency: return "saliency";
    case Method::GradXInput: return "gradxinput";
    case Method::Gae: return "gae";
  }
  return "?";
}

std::vector<Method> all_methods() {
  return {Method::Raw, Method::Rollout, Method::Attr, Method::Unified, Method::Random, Method::Saliency, Method::GradXInput};
}

Variant parse_variant(const std::string& s) {
  if (s == "official") return Variant::Official;
  if (s == "exact") return Variant::Exact;
  throw InputError(str("unknown variant '", s, "' (choose official or exact)"));
}

const char* variant_name(Variant v) { return v == Variant::Official ? "official" : "exact"; }

int64_t default_start_layer(const VimConfig& cfg) { return 15 * cfg.depth / 24; }

Tensor minmax(const Tensor& x) { return minmax_normalize(x); }

Tensor token_relevance(const Tensor& g) {
  return minmax(max(relu(g), -1).values);  // relu before the max: max_c max(g, 0)
}

Tensor rollout(const std::vector<Tensor>& X, int64_t cls) {
  HATTN_CHECK(!X.empty(), "rollout: no layers");
  const int64_t L = X[0].size(0);
  std::vector<double> r(L, 0.0), next(L);
  r[cls] = 1.0;
  for (size_t k = X.size(); k-- > 0;) {  // e_cls^T M_last ··· M_first
    std::vector<double> M = X[k].to_vector<double>();
    for (int64_t i = 0; i < L; ++i) {
      M[i * L + i] += 1.0;
      double s = 0;
      for (int64_t j = 0; j < L; ++j) s += M[i * L + j];
      if (s != 0 && std::isfinite(s))
        for (int64_t j = 0; j < L; ++j) M[i * L + j] /= s;
    }
    std::fill(next.begin(), next.end(), 0.0);
    for (int64_t i = 0; i < L; ++i) {
      if (r[i] == 0) continue;
      for (int64_t j = 0; j < L; ++j) next[j] += r[i] * M[i * L + j];
    }
    r.swap(next);
  }
  return Tensor::from_vector(r, {L});
}

namespace {

// (L) token vector -> (G, G) map without the cls entry, clamped at 0.
Tensor to_grid(const VimConfig& c, const Tensor& tokens) {
  const int64_t cls = c.cls_index(), G = c.grid();
  Tensor v = tokens.to(DType::F32).contiguous();
  Tensor patches = cls < 0 ? v : concat({v.narrow(0, 0, cls), v.narrow(0, cls + 1, v.size(0) - cls - 1)}, 0);
  return clamp(patches.reshape({G, G}), 0, INFINITY);
}

// A matrix whose every row is v.
Tensor rows_of(const Tensor& v) { return v.unsqueeze(0).expand({v.size(0), v.size(0)}).contiguous(); }

Tensor pool_to_grid(const VimConfig& c, const Tensor& pixels) { return patch_mean(pixels, c.grid(), c.patch, c.stride); }

void require_cls(const ExplainContext& ctx, Method m) {
  HATTN_CHECK(ctx.cfg.cls_index() >= 0, method_name(m), ": needs a model with a cls token");
}

}  // namespace

Tensor patch_mean(const Tensor& pixels, int64_t G, int64_t P, int64_t S) {
  std::vector<double> p = pixels.to_vector<double>();
  const int64_t W = pixels.size(1);
  std::vector<float> out(G * G);
  for (int64_t gi = 0; gi < G; ++gi)
    for (int64_t gj = 0; gj < G; ++gj) {
      double acc = 0;
      for (int64_t y = gi * S; y < gi * S + P; ++y)
        for (int64_t x = gj * S; x < gj * S + P; ++x) acc += p[y * W + x];
      out[gi * G + gj] = static_cast<float>(acc / (P * P));
    }
  return Tensor::from_vector(out, {G, G});
}

namespace {

Tensor explain_impl(const ExplainContext& ctx, Method method, const ExplainOptions& o) {
  NoGradGuard no_grad;
  const VimConfig& c = ctx.cfg;
  const int64_t start = o.start_layer < 0 ? default_start_layer(c) : o.start_layer;
  HATTN_CHECK_INPUT(start >= 0 && start < c.depth, "explain: start layer ", start, " out of range [0, ", c.depth, ")");
  const int64_t cls = c.cls_index();
  switch (method) {
    case Method::Random: {
      Generator g(o.seed);
      return uniform({c.grid(), c.grid()}, 0, 1, DType::F32, g);
    }
    case Method::Saliency:
      return pool_to_grid(c, max(abs(ctx.input_grad), 0).values);
    case Method::GradXInput:
      return pool_to_grid(c, abs(sum(mul(ctx.input.detach().select(0, 0), ctx.input_grad), {0})));
    case Method::Gae:
      throw InputError("gae is a transformer method (Chefer et al., ICCV 2021); for Vision Mamba use attr or unified");
    default:
      break;
  }
  if (o.query < 0) require_cls(ctx, method);
  const int64_t L = c.num_tokens();
  HATTN_CHECK_INPUT(o.query < L, "explain: query token ", o.query, " is outside [0, ", L, ")");
  HATTN_CHECK_INPUT(o.query < 0 || o.query == cls || o.variant == Variant::Exact || method == Method::Unified,
                    "explain: a query token other than cls needs the exact variant (the released code reads the cls "
                    "row only)");
  const int64_t row = o.query >= 0 ? o.query : cls;  // the token whose attention row is read
  if (method == Method::Raw) {
    Tensor acc;
    for (int64_t l = start; l < c.depth; ++l) {
      const RowKind kind = o.variant == Variant::Official ? RowKind::Official : RowKind::Exact;
      Tensor a = mean(minmax(cls_rows(ctx.traces[l], 0, row, kind).to(Device::cpu())), {0});  // min-max over [E, L], channel mean
      acc = acc.defined() ? add(acc, a) : a;
    }
    return to_grid(c, mul(acc, 1.0 / static_cast<double>(c.depth - start)));
  }
  std::vector<Tensor> X;
  for (int64_t l = start; l < c.depth; ++l) {
    const nn::MixerTrace& tr = ctx.traces[l];
    if (method == Method::Unified) {
      Tensor a = mean(relu(cls_rows(tr, 0, row, RowKind::Unified).to(Device::cpu())), {0});
      X.push_back(rows_of(minmax(mul(a, token_relevance(ctx.block_grads[l])))));
    } else if (o.variant == Variant::Official) {
      Tensor V = cls_rows(tr, 0, cls, RowKind::Official).to(Device::cpu());
      if (method == Method::Rollout) {
        X.push_back(rows_of(mean(V, {0})));
      } else {  // Attr
        Tensor a = mean(minmax(relu(V)), {0});
        X.push_back(rows_of(mul(a, token_relevance(ctx.block_grads[l]))));
      }
    } else {
      if (ctx.stats_cache.size() != ctx.traces.size()) ctx.stats_cache.assign(ctx.traces.size(), nullptr);
      if (!ctx.stats_cache[l]) ctx.stats_cache[l] = std::make_shared<const LayerAttentionStats>(layer_attention_stats(tr, 0));
      const LayerAttentionStats& s = *ctx.stats_cache[l];
      if (method == Method::Rollout) {
        X.push_back(s.mean_sum);
      } else {  // Attr: min-max of max(F, 0) over [E, L, L] commutes with the channel mean
        const double lo = std::max(s.min_sum, 0.0), hi = std::max(s.max_sum, 0.0);
        Tensor A = hi > lo ? mul(add(s.mean_relu_sum, -lo), 1.0 / (hi - lo)) : mul(s.mean_relu_sum, 0.0);
        X.push_back(mul(A, token_relevance(ctx.block_grads[l]).unsqueeze(0)));
      }
    }
  }
  return to_grid(c, rollout(X, row));
}

}  // namespace

Tensor explain(const ExplainContext& ctx, Method method, const ExplainOptions& options) {
  Tensor map = explain_impl(ctx, method, options).to(DType::F32).contiguous();
  for (float v : map.to_vector<float>())
    HATTN_CHECK_INPUT(std::isfinite(v), "explain: the ", method_name(method), " map is not finite (a NaN or inf in the ",
                      "model's activations or gradients)");
  return map;
}

}  // namespace ha::xai
