#include "xai/explainable.h"

#include "ops/ops.h"

#include <algorithm>

#include <algorithm>
#include <cmath>

#include "tensor/parallel.h"

namespace ha::xai {

Trace blank_trace(const FamilyInfo& f) {
  Trace t;
  t.query = f.default_query;
  t.layout = f.layout;
  return t;
}

std::vector<int64_t> checked_token_ids(const Tensor& inputs, int64_t vocab) {
  HATTN_CHECK(inputs.dtype() == DType::I64 && (inputs.dim() == 1 || (inputs.dim() == 2 && inputs.size(0) == 1)),
              "a language model's input is token ids, int64 (1, T); got ", describe(inputs));
  const std::vector<int64_t> ids = inputs.contiguous().to_vector<int64_t>();
  HATTN_CHECK_INPUT(!ids.empty(), "explain: no tokens");
  for (size_t i = 0; i < ids.size(); ++i)
    HATTN_CHECK_INPUT(ids[i] >= 0 && ids[i] < vocab, "input token ", ids[i], " at position ", i,
                      " is outside the model's ", vocab, "-row vocabulary");
  return ids;
}

std::vector<int64_t> checked_token_batch(const Tensor& inputs, int64_t vocab) {
  HATTN_CHECK(inputs.dtype() == DType::I64 && inputs.dim() == 2 && inputs.numel() > 0,
              "a batch of token sequences is int64 (B, T); got ", describe(inputs));
  const std::vector<int64_t> ids = inputs.contiguous().to_vector<int64_t>();
  for (size_t i = 0; i < ids.size(); ++i)
    HATTN_CHECK_INPUT(ids[i] >= 0 && ids[i] < vocab, "input token ", ids[i], " at position ",
                      i % static_cast<size_t>(inputs.size(1)), " is outside the model's ", vocab, "-row vocabulary");
  return ids;
}

Tensor decoder_logits(const FamilyInfo& f, const Tensor& all, const std::vector<int64_t>& lengths) {
  const Tensor cpu = all.to(Device::cpu());
  if (!f.classifies_tokens()) return cpu.contiguous();
  if (lengths.empty()) return cpu.select(1, cpu.size(1) - 1).contiguous();
  std::vector<Tensor> rows;
  for (int64_t b = 0; b < cpu.size(0); ++b) rows.push_back(cpu.select(0, b).select(0, lengths[b] - 1));
  return stack(rows, 0);
}

Tensor Explainable::batch_logits(const Tensor& ids, const std::vector<int64_t>& lengths) const {
  HATTN_CHECK(ids.dtype() == DType::I64 && ids.dim() == 2 && ids.numel() > 0,
              "batch_logits: int64 (B, T) expected, got ", describe(ids));
  const int64_t B = ids.size(0), T = ids.size(1);
  HATTN_CHECK(lengths.empty() || static_cast<int64_t>(lengths.size()) == B, "batch_logits: ", lengths.size(),
              " lengths for ", B, " sequences");
  std::vector<int64_t> full = lengths.empty() ? std::vector<int64_t>(B, T) : lengths;
  for (int64_t L : full) HATTN_CHECK(L >= 1 && L <= T, "batch_logits: a sequence of ", L, " tokens in a batch of ", T);
  return padded_logits(ids, full);
}

Tensor Explainable::padded_logits(const Tensor& ids, const std::vector<int64_t>& lengths) const {
  const int64_t B = ids.size(0), T = ids.size(1);
  std::vector<Tensor> rows;
  for (int64_t b = 0; b < B; ++b) {
    const Tensor one = logits(ids.narrow(0, b, 1).narrow(1, 0, lengths[b]).contiguous());  // (1, classes) or (L, V)
    if (info().classifies_tokens()) {
      rows.push_back(one.reshape({one.size(1)}));
    } else {  // zeros after the sequence
      Tensor padded = Tensor::zeros({T, one.size(1)}, one.dtype());
      padded.narrow(0, 0, lengths[b]).copy_(one);
      rows.push_back(padded);
    }
  }
  return stack(rows, 0);
}

Trace blank_token_trace(const FamilyInfo& f, int64_t T, const Target& target) {
  Trace t = blank_trace(f);
  t.layout.shape = {T};
  t.query = target.position < 0 ? T - 1 : target.position;
  HATTN_CHECK_INPUT(t.query < T, "explain: query position ", t.query, " is beyond the ", T, " tokens");
  return t;
}

const MixerStats& MixerOperator::stats() const {
  std::call_once(stats_once_, [this] { stats_ = std::make_shared<const MixerStats>(compute_stats()); });
  return *stats_;
}

std::vector<Variant> lrp_variants(const FamilyInfo& f, const TraceOptions& o) {
  const MethodSpec* spec = f.find(Method::Lrp);
  if (!spec || o.lrp.empty()) return {};
  if (spec->variants.empty()) return {Variant::Exact};
  std::vector<Variant> run;
  for (Variant v : spec->variants)
    if (std::find(o.lrp.begin(), o.lrp.end(), v) != o.lrp.end()) run.push_back(v);
  return run;
}

int64_t choose_target(const Tensor& logits, int64_t asked, const char* unit) {
  const std::vector<float> v = logits.to(DType::F32).contiguous().to_vector<float>();
  for (float x : v)
    HATTN_CHECK_INPUT(std::isfinite(x), "explain: the model produced a non-finite logit; the checkpoint or the input is "
                      "damaged");
  const int64_t target = asked >= 0 ? asked : std::max_element(v.begin(), v.end()) - v.begin();
  HATTN_CHECK_INPUT(target < static_cast<int64_t>(v.size()), "explain: ", unit, " ", target, " is outside the model's ",
                    v.size(), " outputs");
  return target;
}

void MixerOperator::sweep_channels(const std::function<void(int64_t, int64_t, const Tensor&)>& f) const {
  const int64_t C = channels(), L = tokens(), per = (C + kSweepRanges - 1) / kSweepRanges;
  // blocks of at most ~2^22 matrix entries inside each range
  const int64_t block = std::clamp<int64_t>((int64_t(1) << 22) / std::max<int64_t>(L * L, 1), 1, 16);
  parallel_for(kSweepRanges, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t c0 = r * per; c0 < std::min(C, (r + 1) * per); c0 += block) {
        const int64_t c1 = std::min({C, (r + 1) * per, c0 + block});
        const Tensor M = matrices(c0, c1).to(Device::cpu());
        for (int64_t c = c0; c < c1; ++c) f(r, c, M.select(0, c - c0).contiguous());
      }
  });
}

Tensor MixerOperator::mean_row_sums() const { return sum(stats().mean.to(DType::F64), {1}); }

Tensor MixerOperator::mean_vecmat(const Tensor& w) const {
  return matmul(w.to(DType::F64).reshape({1, -1}), stats().mean.to(DType::F64)).reshape({-1});
}

// Channel means of F and max(F, 0), and F's extremes, in fixed blocks of channels (never C·L² at once).
MixerStats MixerOperator::compute_stats() const {
  const int64_t C = channels();
  const int64_t L = tokens();
  std::vector<double> sum(L * L, 0.0), sum_relu(L * L, 0.0);
  double lo = INFINITY, hi = -INFINITY;
  // channel blocks of at most ~2^24 matrix entries (64 MB as float, 128 MB as double), whatever L is
  const int64_t block = std::clamp<int64_t>((int64_t(1) << 24) / std::max<int64_t>(L * L, 1), 1, 64);
  for (int64_t c0 = 0; c0 < C; c0 += block) {
    const int64_t c1 = std::min(C, c0 + block);
    const std::vector<double> F = matrices(c0, c1).to_vector<double>();
    for (int64_t c = 0; c < c1 - c0; ++c)
      for (int64_t k = 0; k < L * L; ++k) {
        const double v = F[c * L * L + k];
        sum[k] += v;
        sum_relu[k] += std::max(v, 0.0);
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
  }
  for (int64_t k = 0; k < L * L; ++k) {
    sum[k] /= double(C);
    sum_relu[k] /= double(C);
  }
  MixerStats s;
  s.mean = Tensor::from_vector(sum, {L, L});
  s.mean_relu = Tensor::from_vector(sum_relu, {L, L});
  s.min = lo;
  s.max = hi;
  return s;
}

}  // namespace ha::xai
