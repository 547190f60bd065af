#include "models/lm_generate.h"

#include <algorithm>
#include <cmath>

#include "autograd/grad_mode.h"
#include "ops/cpu/vec.h"
#include "ops/ops.h"
#include "ops/scalar_math.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

namespace ha {
namespace {

// W (O, I) · x. A step reads every weight once, so it is bound by memory bandwidth: rows in parallel, each a
// vectorised dot product streaming its row once (the GEMM kernel would pack W first, reading it twice).
std::vector<float> matvec(const Tensor& W, const std::vector<float>& x) {
  HATTN_CHECK(W.dim() == 2 && W.is_contiguous() && W.dtype() == DType::F32 && W.device().is_cpu() &&
                  W.size(1) == static_cast<int64_t>(x.size()),
              "matvec: expected a contiguous float32 CPU matrix with ", x.size(), " columns, got ", describe(W));
  const int64_t O = W.size(0), I = W.size(1);
  const float* w = W.data<float>();
  std::vector<float> y(O);
  parallel_for(O, 64, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* row = w + r * I;
      cpu::VecF a0{}, a1{};
      int64_t i = 0;
      for (; i + 2 * cpu::kLanesF <= I; i += 2 * cpu::kLanesF) {
        a0 = cpu::fmadd(cpu::load(row + i), cpu::load(x.data() + i), a0);
        a1 = cpu::fmadd(cpu::load(row + i + cpu::kLanesF), cpu::load(x.data() + i + cpu::kLanesF), a1);
      }
      float acc = cpu::hsum(a0 + a1);
      for (; i < I; ++i) acc += row[i] * x[i];
      y[r] = acc;
    }
  });
  return y;
}

void rms_normalise(std::vector<float>& x, size_t begin, size_t n, double eps, const float* w) {
  double ss = 0;
  for (size_t i = begin; i < begin + n; ++i) ss += double(x[i]) * x[i];
  const float scale = static_cast<float>(1.0 / std::sqrt(ss / double(n) + eps));
  for (size_t i = begin; i < begin + n; ++i) x[i] = x[i] * scale * (w ? w[i] : 1.0f);
}

float silu_f(float v) { return v * scalar::sigmoid(v); }

// One step of the depthwise causal conv: shift the channel's window, append x, dot with the kernel; SiLU.
void conv_step(Tensor& window, const Tensor& weight, const Tensor& bias, float* x, int64_t channels, int64_t K) {
  const float* w = weight.data<float>();  // (C, 1, K)
  const float* b = bias.defined() ? bias.data<float>() : nullptr;
  for (int64_t c = 0; c < channels; ++c) {
    float* win = window.data<float>() + c * (K - 1);
    float acc = b ? b[c] : 0.0f;
    for (int64_t k = 0; k < K - 1; ++k) acc += w[c * K + k] * win[k];
    acc += w[c * K + K - 1] * x[c];
    for (int64_t k = 0; k + 1 < K - 1; ++k) win[k] = win[k + 1];
    if (K > 1) win[K - 2] = x[c];
    x[c] = silu_f(acc);
  }
}

}  // namespace

LmStepper::LmStepper(const MambaLM& model, bool tensor_ops)
    : model_(model), ops_(tensor_ops || !model.embedding.device().is_cpu()) {
  const LmConfig& c = model.config();
  const Device dev = model.embedding.device();
  HATTN_CHECK(model.embedding.dtype() == DType::F32, "LmStepper: the recurrent step runs in float32, the model is ",
              describe(model.embedding));
  const int64_t channels = c.family == LmFamily::Mamba1 ? c.d_inner : c.mamba2().conv_dim();
  NoGradGuard no_grad;
  for (int64_t l = 0; l < c.n_layer; ++l) {
    conv_.push_back(Tensor::zeros({channels, c.d_conv - 1}, DType::F32, dev));
    ssm_.push_back(Tensor::zeros({c.d_inner, c.d_state}, DType::F32, dev));
    if (ops_) {
      const LmBlock& b = *model.layers[l];
      A_.push_back(neg(exp(b.mixer1 ? b.mixer1->fwd.A_log : b.mixer2->A_log)));
    }
  }
}

std::vector<float> LmStepper::layer_step(int64_t l, const std::vector<float>& h) {
  const LmConfig& c = model_.config();
  const int64_t E = c.d_inner, N = c.d_state, K = c.d_conv;
  float* s = ssm_[l].data<float>();
  const LmBlock& block = *model_.layers[l];
  if (const nn::MambaMixer* m = block.mixer1.get()) {
    const int64_t R = c.dt_rank;
    std::vector<float> xz = matvec(m->in_proj_weight, h);  // [x (E) | z (E)]
    conv_step(conv_[l], m->fwd.conv_weight, m->fwd.conv_bias, xz.data(), E, K);  // x -> u
    const std::vector<float> u(xz.begin(), xz.begin() + E);
    const std::vector<float> dbl = matvec(m->fwd.x_proj_weight, u);  // [dt_low (R) | B (N) | C (N)]
    const std::vector<float> dt = matvec(m->fwd.dt_proj_weight, std::vector<float>(dbl.begin(), dbl.begin() + R));
    const float* A_log = m->fwd.A_log.data<float>();
    const float* D = m->fwd.D.data<float>();
    const float* dt_bias = m->fwd.dt_proj_bias.data<float>();
    const float* B = dbl.data() + R;
    const float* C = dbl.data() + R + N;
    std::vector<float> y(E);
    for (int64_t e = 0; e < E; ++e) {
      const float delta = scalar::softplus(dt[e] + dt_bias[e]);
      float acc = 0;
      for (int64_t n = 0; n < N; ++n) {
        float& st = s[e * N + n];
        st = std::exp(-delta * std::exp(A_log[e * N + n])) * st + delta * u[e] * B[n];
        acc += st * C[n];
      }
      y[e] = (acc + D[e] * u[e]) * silu_f(xz[E + e]);
    }
    return matvec(m->out_proj_weight, y);
  }
  const nn::Mamba2Mixer& m = *block.mixer2;
  const int64_t H = c.nheads, G = c.ngroups, P = E / H, conv_dim = m.cfg.conv_dim();
  std::vector<float> proj = matvec(m.in_proj_weight, h);  // [z (E) | xBC (conv_dim) | dt (H)]
  conv_step(conv_[l], m.conv_weight, m.conv_bias, proj.data() + E, conv_dim, K);
  const float* z = proj.data();
  const float* x = proj.data() + E;
  const float* B = x + E;
  const float* C = B + G * N;
  const float* dt = proj.data() + E + conv_dim;
  const float* A_log = m.A_log.data<float>();
  const float* D = m.D.data<float>();
  const float* dt_bias = m.dt_bias.data<float>();
  std::vector<float> y(E);
  for (int64_t hd = 0; hd < H; ++hd) {
    const int64_t g = hd / (H / G);
    const float delta = scalar::softplus(dt[hd] + dt_bias[hd]);
    const float decay = std::exp(-delta * std::exp(A_log[hd]));
    for (int64_t p = 0; p < P; ++p) {
      const int64_t e = hd * P + p;
      float acc = 0;
      for (int64_t n = 0; n < N; ++n) {
        float& st = s[e * N + n];
        st = decay * st + delta * x[e] * B[g * N + n];
        acc += st * C[g * N + n];
      }
      y[e] = (acc + D[hd] * x[e]) * silu_f(z[e]);
    }
  }
  const float* w = m.norm_weight.data<float>();
  for (int64_t g = 0; g < G; ++g) rms_normalise(y, g * (E / G), E / G, c.eps, nullptr);
  for (int64_t e = 0; e < E; ++e) y[e] *= w[e];
  return matvec(m.out_proj_weight, y);
}

// One depthwise causal-conv step as tensor ops: [window | x] · kernel per channel, the window shifted; SiLU.
Tensor LmStepper::conv_step_ops(int64_t l, const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const int64_t C = x.size(0), K = weight.size(-1);
  const Tensor full = K > 1 ? concat({conv_[l], x.reshape({C, 1})}, 1) : x.reshape({C, 1});  // (C, K)
  Tensor acc = sum(mul(full, weight.reshape({C, K})), {1});
  if (bias.defined()) acc = add(acc, bias);
  if (K > 1) conv_[l] = full.narrow(1, 1, K - 1).contiguous();
  return silu(acc);
}

// layer_step's arithmetic as tensor ops (same order of the terms, float32).
Tensor LmStepper::layer_step_ops(int64_t l, const Tensor& h) {
  const LmConfig& c = model_.config();
  const int64_t E = c.d_inner, N = c.d_state;
  const LmBlock& block = *model_.layers[l];
  if (const nn::MambaMixer* m = block.mixer1.get()) {
    const int64_t R = c.dt_rank;
    const auto& d = m->fwd;
    const Tensor xz = linear(h, m->in_proj_weight).reshape({2 * E});  // [x | z]
    const Tensor u = conv_step_ops(l, xz.narrow(0, 0, E), d.conv_weight, d.conv_bias);
    const Tensor dbl = linear(u.reshape({1, E}), d.x_proj_weight).reshape({R + 2 * N});  // [dt_low | B | C]
    const Tensor delta =
        softplus(linear(dbl.narrow(0, 0, R).reshape({1, R}), d.dt_proj_weight, d.dt_proj_bias)).reshape({E, 1});
    const Tensor B = dbl.narrow(0, R, N).reshape({1, N}), C = dbl.narrow(0, R + N, N).reshape({1, N});
    ssm_[l] = add(mul(exp(mul(delta, A_[l])), ssm_[l]), mul(mul(delta, u.reshape({E, 1})), B));
    Tensor y = add(sum(mul(ssm_[l], C), {1}), mul(d.D, u));
    y = mul(y, silu(xz.narrow(0, E, E)));
    return linear(y.reshape({1, E}), m->out_proj_weight);
  }
  const nn::Mamba2Mixer& m = *block.mixer2;
  const int64_t H = c.nheads, G = c.ngroups, Hg = H / G, P = E / H, conv_dim = m.cfg.conv_dim();
  const Tensor proj = linear(h, m.in_proj_weight).reshape({E + conv_dim + H});  // [z | xBC | dt]
  const Tensor xbc = conv_step_ops(l, proj.narrow(0, E, conv_dim), m.conv_weight, m.conv_bias);
  const Tensor x = xbc.narrow(0, 0, E).reshape({G, Hg, P, 1});
  const Tensor B = xbc.narrow(0, E, G * N).reshape({G, 1, 1, N});
  const Tensor C = xbc.narrow(0, E + G * N, G * N).reshape({G, 1, 1, N});
  const Tensor delta = softplus(add(proj.narrow(0, E + conv_dim, H), m.dt_bias));  // (H)
  const Tensor decay = exp(mul(delta, A_[l])).reshape({G, Hg, 1, 1});
  const Tensor S = add(mul(decay, ssm_[l].reshape({G, Hg, P, N})), mul(mul(delta.reshape({G, Hg, 1, 1}), x), B));
  ssm_[l] = S.reshape({E, N});
  Tensor y = add(sum(mul(S, C), {3}).reshape({H, P}), mul(m.D.reshape({H, 1}), x.reshape({H, P})));
  y = mul(y.reshape({E}), silu(proj.narrow(0, 0, E)));
  if (!unit_.defined()) unit_ = Tensor::ones({E / G}, DType::F32, h.device());
  y = mul(rms_norm(y.reshape({G, E / G}), unit_, c.eps).reshape({E}), m.norm_weight);
  return linear(y.reshape({1, E}), m.out_proj_weight);
}

std::vector<float> LmStepper::step(int64_t token) {
  const LmConfig& c = model_.config();
  HATTN_CHECK_INPUT(token >= 0 && token < c.vocab, "token id ", token, " is outside the vocabulary [0, ", c.vocab,
                    ")");
  NoGradGuard no_grad;
  if (ops_) {
    Tensor r = index_select(model_.embedding, 0, Tensor::from_vector(std::vector<int64_t>{token}, {1}));  // (1, D)
    for (int64_t l = 0; l < c.n_layer; ++l)
      r = add(r, layer_step_ops(l, rms_norm(r, model_.layers[l]->norm.weight, c.eps)));
    ++position_;
    return linear(rms_norm(r, model_.norm_f.weight, c.eps), model_.head_weight()).to_vector<float>();
  }
  const float* emb = model_.embedding.data<float>() + token * c.d_model;
  std::vector<float> r(emb, emb + c.d_model);
  for (int64_t l = 0; l < c.n_layer; ++l) {
    std::vector<float> h = r;
    rms_normalise(h, 0, h.size(), c.eps, model_.layers[l]->norm.weight.data<float>());
    const std::vector<float> out = layer_step(l, h);
    for (int64_t i = 0; i < c.d_model; ++i) r[i] += out[i];
  }
  rms_normalise(r, 0, r.size(), c.eps, model_.norm_f.weight.data<float>());
  ++position_;
  return matvec(model_.head_weight(), r);
}

std::vector<float> LmStepper::prefill(const std::vector<int64_t>& prompt) {
  HATTN_CHECK(position_ == 0, "LmStepper::prefill: the stepper has already read ", position_, " tokens");
  const LmConfig& c = model_.config();
  const int64_t T = static_cast<int64_t>(prompt.size()), E = c.d_inner, N = c.d_state, K = c.d_conv;
  HATTN_CHECK_INPUT(T > 0, "prefill: no tokens");
  for (int64_t t : prompt)
    HATTN_CHECK_INPUT(t >= 0 && t < c.vocab, "token id ", t, " is outside the vocabulary [0, ", c.vocab, ")");
  NoGradGuard no_grad;
  LmForwardOptions opt;
  opt.trace = true;
  const LmOutput out = model_.forward(Tensor::from_vector(prompt, {T}), opt);
  // the residual stream entering each layer, at the last K-1 positions: r_l = e + Σ_{k<l} mixer output k
  const int64_t W = std::min<int64_t>(K - 1, T), t0 = T - W;
  Tensor r = out.embeddings.select(0, 0).narrow(0, t0, W);  // (W, D)
  const Device dev = model_.embedding.device();
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const LmBlock& block = *model_.layers[l];
    const LmLayerTrace& tr = out.traces[l];
    std::vector<float> s(E * N, 0.0f);
    // conv window: the conv inputs of the last W tokens, from in_proj(RMSNorm(r)), right-aligned
    const int64_t channels = c.family == LmFamily::Mamba1 ? E : c.mamba2().conv_dim();
    const int64_t first_row = c.family == LmFamily::Mamba1 ? 0 : E;  // x of [x|z], xBC of [z|xBC|dt]
    const Tensor& in_proj = c.family == LmFamily::Mamba1 ? block.mixer1->in_proj_weight : block.mixer2->in_proj_weight;
    if (W > 0) {
      const Tensor cols = linear(rms_norm(r, block.norm.weight, c.eps), in_proj).narrow(1, first_row, channels).transpose(0, 1);
      conv_[l] = W == K - 1 ? cols.contiguous() : concat({Tensor::zeros({channels, K - 1 - W}, DType::F32, dev), cols}, 1);
    }
    // final SSM state: the recurrence over the trace's Δ, B and scan input
    if (c.family == LmFamily::Mamba1) {
      const std::vector<float> delta = tr.mamba1.fwd.delta.to_vector<float>(), Bm = tr.mamba1.fwd.Bm.to_vector<float>(),
                               A = tr.mamba1.fwd.A.to_vector<float>(), pre = tr.mamba1.fwd.pre.to_vector<float>();
      for (int64_t e = 0; e < E; ++e)
        for (int64_t t = 0; t < T; ++t) {
          const float d = delta[e * T + t], u = silu_f(pre[e * T + t]);
          for (int64_t n = 0; n < N; ++n) s[e * N + n] = std::exp(d * A[e * N + n]) * s[e * N + n] + d * u * Bm[n * T + t];
        }
    } else {
      const int64_t H = c.nheads, P = E / H, G = c.ngroups;
      const std::vector<float> delta = tr.mamba2.delta.to_vector<float>(), Bm = tr.mamba2.Bm.to_vector<float>(),
                               A = tr.mamba2.A.to_vector<float>(), x = tr.mamba2.x.to_vector<float>();
      for (int64_t e = 0; e < E; ++e) {
        const int64_t hd = e / P, g = hd / (H / G);
        for (int64_t t = 0; t < T; ++t) {
          const float d = delta[hd * T + t], decay = std::exp(d * A[hd]), dx = d * x[e * T + t];
          for (int64_t n = 0; n < N; ++n) s[e * N + n] = decay * s[e * N + n] + dx * Bm[(g * N + n) * T + t];
        }
      }
    }
    ssm_[l] = Tensor::from_vector(s, {E, N}).to(dev);
    r = add(r, out.mixer_outputs[l].select(0, 0).narrow(0, t0, W));
  }
  position_ = T;
  return out.logits.select(0, 0).select(0, T - 1).contiguous().to_vector<float>();
}

int64_t sample_token(const std::vector<float>& z, const Sampling& s, Generator& gen) {
  HATTN_CHECK_INPUT(!z.empty(), "sampling from no logits");
  HATTN_CHECK_INPUT(s.temperature >= 0 && std::isfinite(s.temperature), "temperature must be >= 0, got ", s.temperature);
  HATTN_CHECK_INPUT(s.top_k >= 0, "top-k must be >= 0, got ", s.top_k);
  HATTN_CHECK_INPUT(s.top_p > 0 && s.top_p <= 1, "top-p must be in (0, 1], got ", s.top_p);
  if (s.temperature == 0) return std::max_element(z.begin(), z.end()) - z.begin();
  const int64_t V = static_cast<int64_t>(z.size());
  std::vector<int64_t> order(V);
  for (int64_t i = 0; i < V; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return z[a] > z[b]; });
  const int64_t k = s.top_k > 0 ? std::min(s.top_k, V) : V;
  std::vector<double> p(k);
  double total = 0;
  for (int64_t i = 0; i < k; ++i) total += p[i] = std::exp((double(z[order[i]]) - z[order[0]]) / s.temperature);
  int64_t keep = 0;
  double mass = 0;
  while (keep < k && (keep == 0 || mass < s.top_p * total)) mass += p[keep++];
  const double u = gen.uniform() * mass;
  double acc = 0;
  for (int64_t i = 0; i < keep; ++i)
    if (u < (acc += p[i])) return order[i];
  return order[keep - 1];  // u at the top edge of the rounding
}

std::vector<int64_t> generate(const MambaLM& model, const std::vector<int64_t>& prompt, int64_t max_new,
                              int64_t stop_token, const Sampling& sampling,
                              const std::function<void(int64_t)>& on_token) {
  LmStepper stepper(model);
  return generate(stepper, prompt, max_new, stop_token, sampling, on_token);
}

std::vector<int64_t> generate(TokenStepper& stepper, const std::vector<int64_t>& prompt, int64_t max_new,
                              int64_t stop_token, const Sampling& sampling,
                              const std::function<void(int64_t)>& on_token) {
  HATTN_CHECK_INPUT(!prompt.empty(), "generation needs at least one prompt token");
  Generator gen(sampling.seed);
  std::vector<float> logits = stepper.prefill(prompt);
  std::vector<int64_t> out;
  for (int64_t i = 0; i < max_new; ++i) {
    const int64_t next = sample_token(logits, sampling, gen);
    out.push_back(next);
    if (on_token) on_token(next);
    if (next == stop_token || i + 1 == max_new) break;
    logits = stepper.step(next);
  }
  return out;
}

std::vector<int64_t> generate_greedy(const MambaLM& model, const std::vector<int64_t>& prompt, int64_t max_new,
                                     int64_t stop_token, const std::function<void(int64_t)>& on_token) {
  return generate(model, prompt, max_new, stop_token, Sampling{}, on_token);
}

}  // namespace ha
