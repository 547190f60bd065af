#include "xai/text_evaluate.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "ops/ops.h"

namespace ha::xai {

namespace {

// Σ_j log softmax(row (T0 − 1 + j))[cont[j]] of one sequence's logits (S, V).
double continuation_log_prob(const Tensor& logits, int64_t T0, const std::vector<int64_t>& cont) {
  double total = 0;
  for (size_t j = 0; j < cont.size(); ++j) {  // position T0 − 1 + j predicts cont[j]
    const std::vector<double> row = logits.select(0, T0 - 1 + static_cast<int64_t>(j)).to(DType::F64).to_vector<double>();
    const double top = *std::max_element(row.begin(), row.end());
    double z = 0;
    for (double v : row) z += std::exp(v - top);
    total += row[cont[j]] - top - std::log(z);
  }
  return total;
}

}  // namespace

std::vector<std::vector<double>> text_scores(const Explainable& model, const std::vector<ScoreRequest>& requests,
                                             int64_t batch) {
  HATTN_CHECK(batch >= 1, "text_scores: batch ", batch);
  const FamilyInfo& f = model.info();
  struct Sequence {
    size_t request;
    const std::vector<int64_t>* tail;  // a choice's continuation, or null
    int64_t length;
  };
  std::vector<Sequence> seqs;
  std::vector<std::vector<double>> y(requests.size());
  for (size_t r = 0; r < requests.size(); ++r) {
    const ScoreRequest& q = requests[r];
    HATTN_CHECK(q.item != nullptr && !q.ids.empty(), "text_scores: an empty request");
    const int64_t T0 = static_cast<int64_t>(q.ids.size());
    if (f.classifies_tokens()) {
      seqs.push_back({r, nullptr, T0});
      continue;
    }
    HATTN_CHECK_INPUT(!q.item->continuations.empty(), "a language model scores choices: this data set has none (a "
                      "classifier's data set needs a classifier)");
    y[r].assign(q.item->continuations.size(), 0.0);
    for (const std::vector<int64_t>& cont : q.item->continuations)
      seqs.push_back({r, &cont, T0 + static_cast<int64_t>(cont.size())});
  }
  std::vector<size_t> order(seqs.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return seqs[a].length < seqs[b].length; });
  for (size_t s0 = 0; s0 < order.size(); s0 += static_cast<size_t>(batch)) {
    const size_t n = std::min(order.size() - s0, static_cast<size_t>(batch));
    const int64_t T = seqs[order[s0 + n - 1]].length;  // the longest: sorted
    std::vector<int64_t> flat(n * static_cast<size_t>(T), 0), lengths(n);  // padded with token 0
    for (size_t b = 0; b < n; ++b) {
      const Sequence& sq = seqs[order[s0 + b]];
      const std::vector<int64_t>& ids = requests[sq.request].ids;
      auto at = flat.begin() + static_cast<std::ptrdiff_t>(b) * T;
      at = std::copy(ids.begin(), ids.end(), at);
      if (sq.tail) std::copy(sq.tail->begin(), sq.tail->end(), at);
      lengths[b] = sq.length;
    }
    const Tensor logits = model.batch_logits(Tensor::from_vector(flat, {static_cast<int64_t>(n), T}), lengths);
    for (size_t b = 0; b < n; ++b) {
      const Sequence& sq = seqs[order[s0 + b]];
      const Tensor row = logits.select(0, static_cast<int64_t>(b));  // (K) or (T, V)
      if (!sq.tail) {
        y[sq.request] = row.to(DType::F64).to_vector<double>();
      } else {
        const ScoreRequest& q = requests[sq.request];
        const size_t choice = static_cast<size_t>(sq.tail - q.item->continuations.data());
        y[sq.request][choice] = continuation_log_prob(row, static_cast<int64_t>(q.ids.size()), *sq.tail);
      }
    }
  }
  return y;
}

std::vector<double> text_scores(const Explainable& model, const TextItem& item, const std::vector<int64_t>& ids) {
  return text_scores(model, std::vector<ScoreRequest>{{&item, ids}}, 1)[0];
}

int64_t text_sequences(const TextItem& item, size_t methods, bool test) {
  const int64_t inputs = 1 + (test ? static_cast<int64_t>(methods) * (kTokenSteps + 1) : 0);
  return inputs * std::max<int64_t>(1, static_cast<int64_t>(item.continuations.size()));
}

void evaluate_text_items(const Explainable& model, const std::vector<SeededItem>& items,
                         const std::vector<EvalMethod>& methods, std::optional<TokenTest> test, int64_t mask_id,
                         TextEvalCounts& counts, int64_t batch) {
  const FamilyInfo& f = model.info();
  std::vector<ScoreRequest> clean_requests;
  for (const SeededItem& s : items) clean_requests.push_back({s.item, s.item->ids});
  const std::vector<std::vector<double>> clean = text_scores(model, clean_requests, batch);
  for (size_t i = 0; i < items.size(); ++i) {
    const TextItem& item = *items[i].item;
    HATTN_CHECK(item.correct >= 0 && item.correct < static_cast<int64_t>(clean[i].size()), "evaluate_text_item: answer ",
                item.correct, " of ", clean[i].size());
    ++counts.items;
    counts.correct += std::max_element(clean[i].begin(), clean[i].end()) - clean[i].begin() == item.correct;
  }
  if (!test || methods.empty()) return;
  std::vector<Method> wanted;
  for (const EvalMethod& m : methods) wanted.push_back(m.method);
  std::vector<ScoreRequest> steps;  // item by item, method by method, kTokenSteps + 1 each
  for (const SeededItem& s : items) {
    const TextItem& item = *s.item;
    const int64_t T = static_cast<int64_t>(item.ids.size());
    const Target target{item.target, f.classifies_tokens() ? -1 : T - 1};
    const Trace t = std::move(model.trace(Tensor::from_vector(item.ids, {1, T}), {target}, trace_options(f, wanted))[0]);
    for (const EvalMethod& m : methods) {
      ExplainOptions o;
      o.variant = m.variant;
      o.seed = s.seed;
      o.ablation = m.ablation;
      const std::vector<float> r = explain(t, f, m.method, o).to_vector<float>();
      for (std::vector<int64_t>& ids : perturbed_inputs(item.ids, item.perturbable, r, *test, mask_id))
        steps.push_back({&item, std::move(ids)});
    }
  }
  const std::vector<std::vector<double>> y = text_scores(model, steps, batch);
  auto at = y.begin();
  for (size_t i = 0; i < items.size(); ++i)
    for (const EvalMethod& m : methods) {
      const std::vector<std::vector<double>> item_steps(at, at + (kTokenSteps + 1));
      at += kTokenSteps + 1;
      counts.curves[m.label].add(step_values(*test, item_steps, clean[i], items[i].item->correct));
    }
}

void evaluate_text_item(const Explainable& model, const TextItem& item, const std::vector<EvalMethod>& methods,
                        std::optional<TokenTest> test, int64_t mask_id, uint64_t seed, TextEvalCounts& counts,
                        int64_t batch) {
  evaluate_text_items(model, {{&item, seed}}, methods, test, mask_id, counts, batch);
}

}  // namespace ha::xai
