#include "xai/lm_explain.h"

#include <algorithm>
#include <cmath>

#include "ops/ops.h"
#include "tensor/random.h"
#include "xai/head_attention.h"
#include "xai/hidden_attention.h"

namespace ha::xai {

LmExplainContext run_lm_explain_pass(const MambaLM& model, const std::vector<int64_t>& ids, int64_t query,
                                     int64_t target) {
  const LmConfig& c = model.config();
  const int64_t T = static_cast<int64_t>(ids.size());
  HATTN_CHECK_INPUT(T > 0, "explain: no tokens");
  for (size_t i = 0; i < ids.size(); ++i)
    HATTN_CHECK_INPUT(ids[i] >= 0 && ids[i] < c.vocab, "explain: token ", ids[i], " at position ", i,
                      " is outside the ", c.vocab, "-row vocabulary");
  LmExplainContext ctx;
  ctx.cfg = c;
  ctx.ids = ids;
  ctx.query = query < 0 ? T - 1 : query;
  HATTN_CHECK_INPUT(ctx.query < T, "explain: query position ", ctx.query, " is beyond the ", T, " tokens");
  const nn::FrozenParameters frozen(model);  // input-side gradients only
  LmForwardOptions opt;
  opt.trace = true;
  opt.retain_block_grads = true;
  opt.embeddings_require_grad = true;
  LmOutput out = model.forward(Tensor::from_vector(ids, {T}), opt);
  ctx.logits = out.logits.detach().to(Device::cpu()).reshape({T, c.vocab}).contiguous();
  const std::vector<float> at_q = ctx.logits.select(0, ctx.query).contiguous().to_vector<float>();
  for (float v : at_q)
    HATTN_CHECK_INPUT(std::isfinite(v), "explain: the model produced a non-finite logit; the checkpoint is damaged");
  ctx.target = target < 0 ? std::max_element(at_q.begin(), at_q.end()) - at_q.begin() : target;
  HATTN_CHECK_INPUT(ctx.target < c.vocab, "explain: target token ", ctx.target, " is outside the ", c.vocab,
                    "-row vocabulary");
  out.logits.select(0, 0).select(0, ctx.query).select(0, ctx.target).backward();
  auto cpu = [](const Tensor& t) { return t.detach().to(Device::cpu()).contiguous(); };
  for (const Tensor& m : out.mixer_outputs) {
    // every mixer output feeds the residual stream, so each has a gradient; zeros keep the shapes if one had none
    ctx.block_grads.push_back(m.grad().defined() ? cpu(m.grad().select(0, 0)) : Tensor::zeros({T, c.d_model}));
  }
  ctx.embeddings = cpu(out.embeddings.select(0, 0));
  ctx.embedding_grad = cpu(out.embeddings.grad().select(0, 0));
  for (LmLayerTrace& t : out.traces) {
    for (Tensor* x : {&t.mamba1.fwd.delta, &t.mamba1.fwd.Bm, &t.mamba1.fwd.Cm, &t.mamba1.fwd.A, &t.mamba1.fwd.D,
                      &t.mamba1.fwd.z, &t.mamba1.fwd.pre, &t.mamba1.fwd.conv_weight, &t.mamba2.delta, &t.mamba2.Bm,
                      &t.mamba2.Cm, &t.mamba2.A, &t.mamba2.D, &t.mamba2.x})
      if (x->defined()) *x = cpu(*x);
  }
  ctx.traces = std::move(out.traces);
  return ctx;
}

int64_t default_lm_start_layer(const LmConfig& cfg) { return 15 * cfg.n_layer / 24; }

int64_t lm_attention_channels(const LmConfig& cfg) {
  return cfg.family == LmFamily::Mamba1 ? cfg.d_inner : cfg.nheads;
}

Tensor lm_attention_matrices(const LmConfig& cfg, const LmLayerTrace& t, int64_t c0, int64_t c1) {
  if (cfg.family == LmFamily::Mamba1) return attention_matrices(t.mamba1, Direction::Fwd, 0, c0, c1);
  return head_attention_matrices(t.mamba2, 0, c0, c1);
}

std::vector<Method> lm_methods(const LmConfig& cfg) {
  std::vector<Method> m = {Method::Raw, Method::Rollout, Method::Attr};
  if (cfg.family == LmFamily::Mamba1) m.push_back(Method::Unified);
  for (Method b : {Method::Random, Method::Saliency, Method::GradXInput}) m.push_back(b);
  return m;
}

namespace {

// Row q of every channel or head: (C, T).
Tensor query_rows(const LmExplainContext& ctx, int64_t l, RowKind kind) {
  const LmLayerTrace& t = ctx.traces[l];
  if (ctx.cfg.family == LmFamily::Mamba1) return direction_rows(t.mamba1.fwd, 0, ctx.query, kind);
  return head_rows(t.mamba2, 0, ctx.query);
}

// Channel means of F and max(F, 0), and F's extremes, in fixed blocks of channels (never C·T² at once).
const LmExplainContext::LayerStats& layer_stats(const LmExplainContext& ctx, int64_t l) {
  if (ctx.stats_cache.size() != ctx.traces.size()) ctx.stats_cache.assign(ctx.traces.size(), nullptr);
  if (ctx.stats_cache[l]) return *ctx.stats_cache[l];
  const int64_t C = lm_attention_channels(ctx.cfg), T = static_cast<int64_t>(ctx.ids.size());
  std::vector<double> sum(T * T, 0.0), sum_relu(T * T, 0.0);
  double lo = INFINITY, hi = -INFINITY;
  // channel blocks of at most ~2^24 matrix entries (64 MB as float, 128 MB as double), whatever T is
  const int64_t block = std::clamp<int64_t>((int64_t(1) << 24) / std::max<int64_t>(T * T, 1), 1, 64);
  for (int64_t c0 = 0; c0 < C; c0 += block) {
    const int64_t c1 = std::min(C, c0 + block);
    const std::vector<double> F = lm_attention_matrices(ctx.cfg, ctx.traces[l], c0, c1).to_vector<double>();
    for (int64_t c = 0; c < c1 - c0; ++c)
      for (int64_t k = 0; k < T * T; ++k) {
        const double v = F[c * T * T + k];
        sum[k] += v;
        sum_relu[k] += std::max(v, 0.0);
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
  }
  auto s = std::make_shared<LmExplainContext::LayerStats>();
  for (int64_t k = 0; k < T * T; ++k) {
    sum[k] /= double(C);
    sum_relu[k] /= double(C);
  }
  s->mean = Tensor::from_vector(sum, {T, T});
  s->mean_relu = Tensor::from_vector(sum_relu, {T, T});
  s->min = lo;
  s->max = hi;
  ctx.stats_cache[l] = s;
  return *s;
}

Tensor rows_of(const Tensor& v) { return v.unsqueeze(0).expand({v.size(0), v.size(0)}).contiguous(); }

Tensor explain_lm_impl(const LmExplainContext& ctx, Method method, const ExplainOptions& o) {
  NoGradGuard no_grad;
  const LmConfig& c = ctx.cfg;
  const int64_t T = static_cast<int64_t>(ctx.ids.size()), q = ctx.query;
  const int64_t start = o.start_layer < 0 ? default_lm_start_layer(c) : o.start_layer;
  HATTN_CHECK_INPUT(start >= 0 && start < c.n_layer, "explain: start layer ", start, " out of range [0, ", c.n_layer,
                    ")");
  switch (method) {
    case Method::Random: {
      Generator g(o.seed);
      return uniform({T}, 0, 1, DType::F32, g);
    }
    case Method::Saliency:
      return max(abs(ctx.embedding_grad), 1).values;
    case Method::GradXInput:
      return abs(sum(mul(ctx.embeddings, ctx.embedding_grad), {1}));
    case Method::Gae:
      throw InputError("gae is a transformer method (Chefer et al., ICCV 2021); for a Mamba LM use attr");
    case Method::Unified:
      HATTN_CHECK_INPUT(c.family == LmFamily::Mamba1, "unified is defined for Mamba-1 only (its gate and conv fold "
                        "into the channel's attention); this is a Mamba-2 model");
      break;
    default:
      break;
  }
  if (method == Method::Raw) {  // the rows are defined on tokens 0..q; min-max over those
    Tensor acc;
    for (int64_t l = start; l < c.n_layer; ++l) {
      Tensor a = mean(minmax(query_rows(ctx, l, RowKind::Exact).narrow(1, 0, q + 1).contiguous()), {0});
      acc = acc.defined() ? add(acc, a) : a;
    }
    acc = mul(acc, 1.0 / double(c.n_layer - start));
    return q + 1 == T ? acc : concat({acc, Tensor::zeros({T - q - 1}, acc.dtype())}, 0);
  }
  std::vector<Tensor> X;
  for (int64_t l = start; l < c.n_layer; ++l) {
    if (method == Method::Unified) {
      Tensor a = mean(relu(query_rows(ctx, l, RowKind::Unified)), {0});
      X.push_back(rows_of(minmax(mul(a, token_relevance(ctx.block_grads[l])))));
      continue;
    }
    const LmExplainContext::LayerStats& s = layer_stats(ctx, l);
    if (method == Method::Rollout) {
      X.push_back(s.mean);
    } else {  // Attr: min-max of max(F, 0) over [C, T, T] commutes with the channel mean
      const double lo = std::max(s.min, 0.0), hi = std::max(s.max, 0.0);
      Tensor A = hi > lo ? mul(add(s.mean_relu, -lo), 1.0 / (hi - lo)) : mul(s.mean_relu, 0.0);
      X.push_back(mul(A, token_relevance(ctx.block_grads[l]).to(A.dtype()).unsqueeze(0)));
    }
  }
  return rollout(X, q);
}

}  // namespace

Tensor explain_lm(const LmExplainContext& ctx, Method method, const ExplainOptions& options) {
  std::vector<float> v = explain_lm_impl(ctx, method, options).to(DType::F32).contiguous().to_vector<float>();
  for (size_t j = 0; j < v.size(); ++j) {
    HATTN_CHECK_INPUT(std::isfinite(v[j]), "explain: the ", method_name(method), " relevance is not finite");
    // clamped at 0; the tokens after the query cannot matter to it (causal model)
    v[j] = static_cast<int64_t>(j) > ctx.query ? 0.0f : std::max(v[j], 0.0f);
  }
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
}

}  // namespace ha::xai
