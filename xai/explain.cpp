#include "xai/explain.h"

#include <algorithm>
#include <cmath>

#include "ops/dispatch.h"
#include "ops/ops.h"
#include "tensor/random.h"

namespace ha::xai {

// ---- parsing and naming

namespace {
constexpr Method kMethods[] = {Method::Raw,    Method::Rollout,  Method::Attr,       Method::Unified,
                               Method::Random, Method::Saliency, Method::GradXInput, Method::Gae,
                               Method::Lrp};
}

Method parse_method(const std::string& s) {
  for (Method m : kMethods)
    if (s == method_name(m)) return m;
  throw InputError(str("unknown method '", s, "' (one of raw, rollout, attr, unified, random, saliency, gradxinput, ",
                       "gae, lrp; a model's methods list what it offers)"));
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
    case Method::Lrp: return "lrp";
  }
  return "?";
}

Variant parse_variant(const std::string& s) {
  if (s == "official") return Variant::Official;
  if (s == "exact") return Variant::Exact;
  throw InputError(str("unknown variant '", s, "' (choose official or exact)"));
}

const char* variant_name(Variant v) { return v == Variant::Official ? "official" : "exact"; }

const MethodSpec* FamilyInfo::find(Method m) const {
  for (const MethodSpec& s : methods)
    if (s.method == m) return &s;
  return nullptr;
}

bool FamilyInfo::takes(const std::string& option) const {
  return std::find(options.begin(), options.end(), option) != options.end();
}

Variant resolve_variant(const FamilyInfo& f, Method m, std::optional<Variant> asked) {
  const MethodSpec* spec = f.find(m);
  if (!spec) {
    if (f.methods.empty()) throw InputError(f.not_explainable);
    const auto it = f.refusals.find(m);
    std::string offered;
    for (const MethodSpec& s : f.methods) offered += str(offered.empty() ? "" : ", ", method_name(s.method));
    throw InputError(it != f.refusals.end() ? it->second
                                            : str(method_name(m), " is not defined for ", f.name, " (it offers ", offered, ")"));
  }
  // one definition: the variant does not apply (it reads the exact matrices where it reads any)
  if (spec->variants.empty()) return Variant::Exact;
  if (!asked) return spec->variants.front();
  HATTN_CHECK_INPUT(std::find(spec->variants.begin(), spec->variants.end(), *asked) != spec->variants.end(),
                    method_name(m), " has no ", variant_name(*asked), " variant for ", f.name);
  return *asked;
}

std::string method_label(const FamilyInfo& f, Method m, Variant v) {
  const MethodSpec* spec = f.find(m);
  return spec && spec->variants.size() > 1 ? str(method_name(m), " (", variant_name(v), ")") : method_name(m);
}

std::string method_token(const FamilyInfo& f, Method m, Variant v) {
  const MethodSpec* spec = f.find(m);
  return spec && spec->variants.size() > 1 ? str(method_name(m), ":", variant_name(v)) : method_name(m);
}

Aggregate parse_aggregate(const std::string& s) {
  if (s == "mean") return Aggregate::Mean;
  if (s == "max") return Aggregate::Max;
  if (s == "min") return Aggregate::Min;
  if (s == "prod") return Aggregate::Prod;
  throw InputError(str("unknown aggregation '", s, "' (mean, max, min or prod)"));
}

Clamp parse_clamp(const std::string& s) {
  if (s == "relu") return Clamp::Relu;
  if (s == "none") return Clamp::None;
  if (s == "abs") return Clamp::Abs;
  throw InputError(str("unknown clamp '", s, "' (relu, none or abs)"));
}

Ablation parse_ablation(const std::map<std::string, std::string>& o) {
  Ablation a;
  if (const auto it = o.find("aggregate"); it != o.end()) a.aggregate = parse_aggregate(it->second);
  if (const auto it = o.find("clamp"); it != o.end()) a.clamp = parse_clamp(it->second);
  if (const auto it = o.find("discard"); it != o.end()) {
    size_t used = 0;
    try {
      a.discard = std::stod(it->second, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    HATTN_CHECK_INPUT(used > 0 && used == it->second.size() && a.discard >= 0 && a.discard < 1,
                      "discard expects a fraction in [0, 1), got '", it->second, "'");
  }
  return a;
}

const char* aggregate_name(Aggregate a) {
  switch (a) {
    case Aggregate::Mean: return "mean";
    case Aggregate::Max: return "max";
    case Aggregate::Min: return "min";
    case Aggregate::Prod: return "prod";
  }
  return "?";
}

const char* clamp_name(Clamp c) { return c == Clamp::Relu ? "relu" : c == Clamp::None ? "none" : "abs"; }

// ---- building blocks

namespace {

// A running aggregate over channels of n values each (mean, max, min, or prod in log space with signs and zeros
// kept); partial aggregates of fixed channel ranges merge in range order, so results do not depend on threads.
class ChannelAggregate {
 public:
  ChannelAggregate(Aggregate how, int64_t n);
  void add(const double* x);  // one channel's n values
  void merge(const ChannelAggregate& o);
  Tensor result(const Shape& shape) const;

 private:
  Aggregate how_;
  std::vector<double> acc_;
  std::vector<char> negative_, zero_;
  int64_t count_ = 0;
};

// numpy.quantile(x, f) (linear interpolation) of the n values, entries below it set to 0; two selections, no sort.
void discard_below_quantile(double* x, int64_t n, double f, std::vector<double>& scratch) {
  scratch.assign(x, x + n);
  const double pos = f * double(n - 1);
  const int64_t lo = static_cast<int64_t>(std::floor(pos));
  std::nth_element(scratch.begin(), scratch.begin() + lo, scratch.end());
  const double a = scratch[lo];
  const double b = lo + 1 < n ? *std::min_element(scratch.begin() + lo + 1, scratch.end()) : a;
  const double q = lo + 1 < n ? a + (b - a) * (pos - double(lo)) : a;
  for (int64_t k = 0; k < n; ++k)
    if (x[k] < q) x[k] = 0;
}

ChannelAggregate::ChannelAggregate(Aggregate how, int64_t n)
    : how_(how), acc_(n, how == Aggregate::Max ? -INFINITY : how == Aggregate::Min ? INFINITY : 0.0),
      negative_(how == Aggregate::Prod ? n : 0, 0), zero_(how == Aggregate::Prod ? n : 0, 0) {}

void ChannelAggregate::add(const double* x) {
  const int64_t n = static_cast<int64_t>(acc_.size());
  switch (how_) {
    case Aggregate::Mean:
      for (int64_t k = 0; k < n; ++k) acc_[k] += x[k];
      break;
    case Aggregate::Max:
      for (int64_t k = 0; k < n; ++k) acc_[k] = std::max(acc_[k], x[k]);
      break;
    case Aggregate::Min:
      for (int64_t k = 0; k < n; ++k) acc_[k] = std::min(acc_[k], x[k]);
      break;
    case Aggregate::Prod:
      for (int64_t k = 0; k < n; ++k) {
        if (x[k] == 0) zero_[k] = 1;
        else acc_[k] += std::log(std::abs(x[k])), negative_[k] ^= x[k] < 0;
      }
      break;
  }
  ++count_;
}

void ChannelAggregate::merge(const ChannelAggregate& o) {
  HATTN_CHECK(o.how_ == how_ && o.acc_.size() == acc_.size(), "ChannelAggregate: merging different aggregates");
  for (size_t k = 0; k < acc_.size(); ++k) {
    switch (how_) {
      case Aggregate::Mean: acc_[k] += o.acc_[k]; break;
      case Aggregate::Max: acc_[k] = std::max(acc_[k], o.acc_[k]); break;
      case Aggregate::Min: acc_[k] = std::min(acc_[k], o.acc_[k]); break;
      case Aggregate::Prod: acc_[k] += o.acc_[k], negative_[k] ^= o.negative_[k], zero_[k] |= o.zero_[k]; break;
    }
  }
  count_ += o.count_;
}

Tensor ChannelAggregate::result(const Shape& shape) const {
  HATTN_CHECK(count_ > 0, "ChannelAggregate: no channels added");
  std::vector<double> r = acc_;
  for (size_t k = 0; k < r.size(); ++k) {
    if (how_ == Aggregate::Mean) r[k] /= double(count_);
    if (how_ == Aggregate::Prod) r[k] = zero_[k] ? 0.0 : (negative_[k] ? -1.0 : 1.0) * std::exp(r[k]);
  }
  return Tensor::from_vector(r, shape);
}

}  // namespace

Tensor aggregate_channels(const Tensor& channels, Aggregate aggregate, double discard) {
  HATTN_CHECK(channels.dim() >= 2 && channels.size(0) >= 1, "aggregate_channels: expects (C, ...), got ",
              describe(channels));
  HATTN_CHECK_INPUT(discard >= 0 && discard < 1, "discard must be in [0, 1), got ", discard);
  const int64_t C = channels.size(0), n = channels.numel() / C;
  std::vector<double> v = channels.contiguous().to_vector<double>(), scratch;
  ChannelAggregate agg(aggregate, n);
  for (int64_t c = 0; c < C; ++c) {
    if (discard > 0) discard_below_quantile(&v[c * n], n, discard, scratch);
    agg.add(&v[c * n]);
  }
  Shape shape = channels.shape();
  shape.erase(shape.begin());
  return agg.result(shape);
}

Tensor minmax(const Tensor& x) { return minmax_normalize(x); }

Tensor token_relevance(const Tensor& g) {
  return minmax(max(relu(g), -1).values);  // relu before the max: max_c max(g, 0)
}

Tensor rollout(const std::vector<Tensor>& X, int64_t row) {
  HATTN_CHECK(!X.empty(), "rollout: no layers");
  const int64_t L = X[0].size(0);
  std::vector<double> r(L, 0.0), next(L);
  r[row] = 1.0;
  for (size_t k = X.size(); k-- > 0;) {  // e_row^T M_last ··· M_first
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

Tensor rollout(const std::vector<const MixerOperator*>& layers, int64_t row) {
  HATTN_CHECK(!layers.empty(), "rollout: no layers");
  const int64_t L = layers[0]->tokens();
  std::vector<double> r(L, 0.0);
  r[row] = 1.0;
  for (size_t k = layers.size(); k-- > 0;) {
    const std::vector<double> sums = layers[k]->mean_row_sums().to_vector<double>();
    std::vector<double> v(L);
    for (int64_t i = 0; i < L; ++i) {
      const double s = 1.0 + sums[i];
      v[i] = s != 0 && std::isfinite(s) ? r[i] / s : r[i];
    }
    const std::vector<double> xv = layers[k]->mean_vecmat(Tensor::from_vector(v, {L})).to_vector<double>();
    for (int64_t j = 0; j < L; ++j) r[j] = v[j] + xv[j];
  }
  return Tensor::from_vector(r, {L});
}

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

// ---- the methods

namespace {

// A vector over the tokens (L) as the layout's map: images keep the patch tokens, as a G×G grid clamped at 0;
// token sequences are finished by finish().
Tensor tokens_to_map(const MapLayout& m, const Tensor& tokens) {
  if (m.modality == Modality::Tokens) return tokens;
  const std::vector<float> v = tokens.to(DType::F32).contiguous().to_vector<float>();
  std::vector<float> cells(m.patch_tokens.size());
  for (size_t k = 0; k < cells.size(); ++k) cells[k] = v[m.patch_tokens[k]];
  return clamp(Tensor::from_vector(cells, m.shape), 0, INFINITY);
}

// A map over the input's positions (images: pixels (H, W); tokens: (T)) as the layout's map.
Tensor input_to_map(const MapLayout& m, const Tensor& positions) {
  if (m.modality == Modality::Tokens) return positions;
  return patch_mean(positions, m.shape[0], m.patch, m.stride);
}

// A matrix whose every row is v.
Tensor rows_of(const Tensor& v) { return v.unsqueeze(0).expand({v.size(0), v.size(0)}).contiguous(); }

// Row q of every channel, up to the query where the model is causal.
Tensor query_rows(const Trace& t, const FamilyInfo& f, int64_t l, int64_t q, RowKind kind) {
  Tensor r = t.mixers[l]->rows(q, kind);
  return f.causal ? r.narrow(1, 0, q + 1).contiguous() : r;
}

Tensor clamped(const Tensor& x, Clamp c) { return c == Clamp::Relu ? relu(x) : c == Clamp::Abs ? abs(x) : x; }

// Layer l's X for rollout (attr = false) or attr's A (before the token relevance) under a non-default ablation.
// The official variant aggregates the released code's rows (C, L) and repeats the result as every row; the exact
// one aggregates the full matrices (C, L, L). attr: each channel clamped, min-maxed over all of [C, ...] (one scale
// for every channel), then discarded and aggregated.
Tensor ablated_layer(const MixerOperator& m, int64_t q, Variant variant, bool attr, const Ablation& a) {
  if (variant == Variant::Official) {
    Tensor V = m.rows(q, RowKind::Official).to(DType::F64);
    if (attr) V = minmax(clamped(V, a.clamp));
    return rows_of(aggregate_channels(V, a.aggregate, a.discard));
  }
  const int64_t L = m.tokens(), n = L * L;
  auto clamp_value = [&](double v) { return a.clamp == Clamp::Relu ? std::max(v, 0.0) : a.clamp == Clamp::Abs ? std::abs(v) : v; };
  // attr: the extremes of clamp(F) over every channel, one scale for all. relu and none take them from F's
  // extremes (the layer's statistics); abs needs min |F|, which those do not give: a sweep of its own.
  double low = 0, high = 0;
  if (attr && a.clamp != Clamp::Abs) {
    const MixerStats& st = m.stats();
    low = a.clamp == Clamp::Relu ? std::max(st.min, 0.0) : st.min;
    high = a.clamp == Clamp::Relu ? std::max(st.max, 0.0) : st.max;
  } else if (attr) {
    std::vector<double> lo(MixerOperator::kSweepRanges, INFINITY), hi(MixerOperator::kSweepRanges, -INFINITY);
    m.sweep_channels([&](int64_t r, int64_t, const Tensor& F) {
      const Tensor x = abs(F);
      lo[r] = std::min(lo[r], amin(x).item()), hi[r] = std::max(hi[r], amax(x).item());
    });
    low = *std::min_element(lo.begin(), lo.end()), high = *std::max_element(hi.begin(), hi.end());
  }
  std::vector<ChannelAggregate> parts(MixerOperator::kSweepRanges, ChannelAggregate(a.aggregate, n));
  m.sweep_channels([&](int64_t r, int64_t, const Tensor& F) {
    thread_local std::vector<double> x, scratch;
    x.resize(n);
    dispatch_floating(F.dtype(), "ablation", [&](auto tag) {  // the sweep hands contiguous matrices
      const auto* p = F.data<decltype(tag)>();
      for (int64_t k = 0; k < n; ++k) x[k] = double(p[k]);
    });
    if (attr)
      for (double& v : x) v = high > low ? (clamp_value(v) - low) / (high - low) : 0.0;
    if (a.discard > 0) discard_below_quantile(x.data(), n, a.discard, scratch);
    parts[r].add(x.data());
  });
  for (int64_t r = 1; r < MixerOperator::kSweepRanges; ++r) parts[0].merge(parts[r]);
  return parts[0].result({L, L});
}

// A Softmax family's row q of the method's matrix (docs/definitions.md §9): the last block's head mean (raw), the
// rollout of head means or of Transformer-Attribution's relevance-weighted gradients from `start`, or gae.
Tensor softmax_form_row(const Trace& t, Method method, int64_t start, int64_t q) {
  const int64_t layers = static_cast<int64_t>(t.mixers.size()), L = t.tokens();
  std::vector<Tensor> X;
  switch (method) {
    case Method::Raw:  // the last block's head mean
      return t.mixers.back()->stats().mean.select(0, q);
    case Method::Rollout:
      for (int64_t l = start; l < layers; ++l) X.push_back(t.mixers[l]->stats().mean);
      return rollout(X, q);
    case Method::Gae: {  // R starts as the identity; R += cam_l R per block, first to last
      Tensor R = Tensor::zeros({L, L}, DType::F64);
      for (int64_t i = 0; i < L; ++i) R.data<double>()[i * L + i] = 1.0;
      for (int64_t l = 0; l < layers; ++l) {
        const MixerOperator& m = *t.mixers[l];
        Tensor cam = mean(relu(mul(m.matrix_grad(), m.matrices(0, m.channels()))), {0}).to(DType::F64);
        R = add(R, matmul(cam, R));
      }
      return R.select(0, q);
    }
    case Method::Attr:  // Transformer-Attribution
      for (int64_t l = start; l < layers; ++l) {
        const MixerOperator& m = *t.mixers[l];
        HATTN_CHECK_INPUT(m.matrix_relevance().defined(), "explain: attr needs the trace run with the relevance pass "
                          "(TraceOptions::relevance)");
        X.push_back(mean(relu(mul(m.matrix_grad().to(DType::F64), m.matrix_relevance())), {0}));
      }
      return rollout(X, q);
    default:
      throw InputError(str(method_name(method), " has no softmax-attention form"));
  }
}

Tensor explain_impl(const Trace& t, const FamilyInfo& f, Method method, Variant variant, const ExplainOptions& o) {
  NoGradGuard no_grad;
  const int64_t layers = static_cast<int64_t>(t.mixers.size());
  const int64_t start = o.start_layer < 0 ? f.default_start_layer : o.start_layer;
  HATTN_CHECK_INPUT(start >= 0 && start < layers, "explain: start layer ", start, " out of range [0, ", layers, ")");
  switch (method) {
    case Method::Random: {
      Generator g(o.seed);
      return uniform(t.layout.shape, 0, 1, DType::F32, g);
    }
    case Method::Saliency:
      return input_to_map(t.layout, max(abs(t.input_grad), t.layout.feature_dim).values);
    case Method::GradXInput:
      return input_to_map(t.layout, abs(sum(mul(t.input, t.input_grad), {t.layout.feature_dim})));
    case Method::Lrp: {
      const auto it = t.lrp.find(variant);
      HATTN_CHECK_INPUT(it != t.lrp.end(), "explain: lrp (", variant_name(variant), ") needs the trace run with ",
                        "that variant's LRP pass (TraceOptions::lrp; xai::trace_options sets it)");
      return tokens_to_map(t.layout, it->second);
    }
    default:
      break;
  }
  HATTN_CHECK_INPUT(o.query >= 0 || t.query >= 0, method_name(method), ": needs a model with a cls token");
  const int64_t L = t.tokens();
  HATTN_CHECK_INPUT(o.query < 0 || o.query == t.query || f.takes("query"), "explain: ", f.name, " reads the row ",
                    "of the token its trace was run for (", t.query, "); trace again for another");
  HATTN_CHECK_INPUT(o.query < L, "explain: query token ", o.query, " is outside [0, ", L, ")");
  HATTN_CHECK_INPUT(o.query < 0 || o.query == t.query || variant == Variant::Exact,
                    "explain: a query token other than cls needs the exact variant (the released code reads the cls "
                    "row only)");
  const int64_t q = o.query >= 0 ? o.query : t.query;  // the token whose attention row is read
  const RowKind kind = variant == Variant::Official ? RowKind::Official : RowKind::Exact;
  std::vector<Tensor> X;

  HATTN_CHECK_INPUT(o.ablation.is_default() || f.form == MixerForm::Hidden ||
                        (method != Method::Rollout && method != Method::Attr),
                    "the ablations (aggregate, discard, clamp) are of hidden attention; ", f.name, " has softmax attention");
  if (f.form == MixerForm::Softmax) {
    Tensor row = softmax_form_row(t, method, start, q);
    const auto entry = f.query_entry.find(method);
    if (entry != f.query_entry.end() && entry->second != QueryEntry::Keep) {  // the released BERT code's
      row = row.to(DType::F64).clone();  // raw's row is a view of the layer's cached statistics: write a copy
      double* v = row.data<double>();
      v[q] = entry->second == QueryEntry::Zero ? 0.0 : *std::min_element(v, v + row.numel());
    }
    return tokens_to_map(t.layout, row);
  }

  if (method == Method::Raw) {
    Tensor acc;
    for (int64_t l = start; l < layers; ++l) {
      Tensor a = mean(minmax(query_rows(t, f, l, q, kind)), {0});  // min-max over [C, L], channel mean
      acc = acc.defined() ? add(acc, a) : a;
    }
    acc = mul(acc, 1.0 / static_cast<double>(layers - start));
    if (acc.size(0) < L) acc = concat({acc, Tensor::zeros({L - acc.size(0)}, acc.dtype())}, 0);  // after the query
    return tokens_to_map(t.layout, acc);
  }
  HATTN_CHECK_INPUT(method != Method::Gae, "gae has no hidden-attention form");
  if (!o.ablation.is_default() && (method == Method::Rollout || method == Method::Attr)) {
    for (int64_t l = start; l < layers; ++l) {
      Tensor A = ablated_layer(*t.mixers[l], q, variant, method == Method::Attr, o.ablation);
      X.push_back(method == Method::Attr ? mul(A, token_relevance(t.block_grads[l]).to(DType::F64).unsqueeze(0)) : A);
    }
    return tokens_to_map(t.layout, rollout(X, q));
  }
  if (method == Method::Rollout && variant == Variant::Exact) {  // by the layers' products, no L×L matrix needed
    std::vector<const MixerOperator*> ops;
    for (int64_t l = start; l < layers; ++l) ops.push_back(t.mixers[l].get());
    return tokens_to_map(t.layout, rollout(ops, q));
  }
  for (int64_t l = start; l < layers; ++l) {
    const MixerOperator& m = *t.mixers[l];
    if (method == Method::Unified) {
      Tensor a = mean(relu(m.rows(q, RowKind::Unified)), {0});
      X.push_back(rows_of(minmax(mul(a, token_relevance(t.block_grads[l])))));
    } else if (variant == Variant::Official) {  // the released code: every row the cls row
      Tensor V = m.rows(q, RowKind::Official);
      if (method == Method::Rollout) {
        X.push_back(rows_of(mean(V, {0})));
      } else {  // Attr
        Tensor a = mean(minmax(relu(V)), {0});
        X.push_back(rows_of(mul(a, token_relevance(t.block_grads[l]))));
      }
    } else {
      const MixerStats& s = m.stats();
      {  // Attr: min-max of max(F, 0) over [C, L, L] commutes with the channel mean
        const double lo = std::max(s.min, 0.0), hi = std::max(s.max, 0.0);
        Tensor A = hi > lo ? mul(add(s.mean_relu, -lo), 1.0 / (hi - lo)) : mul(s.mean_relu, 0.0);
        X.push_back(mul(A, token_relevance(t.block_grads[l]).to(A.dtype()).unsqueeze(0)));
      }
    }
  }
  return tokens_to_map(t.layout, rollout(X, q));
}

}  // namespace

bool needs_gradients(Method m) {
  return !(m == Method::Raw || m == Method::Rollout || m == Method::Random || m == Method::Lrp);
}

TraceOptions trace_options(const FamilyInfo& f, const std::vector<Method>& methods, std::optional<Variant> variant) {
  TraceOptions o;
  o.gradients = std::any_of(methods.begin(), methods.end(), needs_gradients);
  o.relevance = f.form == MixerForm::Softmax && std::find(methods.begin(), methods.end(), Method::Attr) != methods.end();
  o.lrp.clear();
  if (std::find(methods.begin(), methods.end(), Method::Lrp) != methods.end())
    o.lrp.push_back(resolve_variant(f, Method::Lrp, variant));
  return o;
}

Tensor explain(const Trace& t, const FamilyInfo& f, Method method, const ExplainOptions& o) {
  const Variant variant = resolve_variant(f, method, o.variant);
  HATTN_CHECK(!t.mixers.empty(), "explain: the trace holds no layers");
  HATTN_CHECK(!needs_gradients(method) || t.input_grad.defined(),
              "explain: ", method_name(method), " reads gradients; the trace was run without them");
  Tensor map = explain_impl(t, f, method, variant, o).to(DType::F32).contiguous();
  if (t.layout.modality == Modality::Image) {
    for (float v : map.to_vector<float>())
      HATTN_CHECK_INPUT(std::isfinite(v), "explain: the ", method_name(method), " map is not finite (a NaN or inf in ",
                        "the model's activations or gradients)");
    return map;
  }
  // token sequences: clamped at 0; the tokens after the query cannot matter to it (causal model)
  const int64_t q = o.query >= 0 ? o.query : t.query;
  std::vector<float> v = map.to_vector<float>();
  for (size_t j = 0; j < v.size(); ++j) {
    HATTN_CHECK_INPUT(std::isfinite(v[j]), "explain: the ", method_name(method), " relevance is not finite");
    v[j] = f.causal && static_cast<int64_t>(j) > q ? 0.0f : std::max(v[j], 0.0f);
  }
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
}

}  // namespace ha::xai
