#include "xai/text_evaluate.h"

#include <algorithm>
#include <cmath>

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

// Rows [b0, b0 + n) of `inputs`, each followed by `tail`, as int64 (n, T).
Tensor stacked(const std::vector<std::vector<int64_t>>& inputs, size_t b0, size_t n, const std::vector<int64_t>& tail) {
  std::vector<int64_t> flat;
  for (size_t b = b0; b < b0 + n; ++b) {
    flat.insert(flat.end(), inputs[b].begin(), inputs[b].end());
    flat.insert(flat.end(), tail.begin(), tail.end());
  }
  return Tensor::from_vector(flat, {static_cast<int64_t>(n), static_cast<int64_t>(inputs[b0].size() + tail.size())});
}

}  // namespace

std::vector<std::vector<double>> text_scores(const Explainable& model, const TextItem& item,
                                             const std::vector<std::vector<int64_t>>& inputs, int64_t batch) {
  HATTN_CHECK(batch >= 1, "text_scores: batch ", batch);
  const FamilyInfo& f = model.info();
  std::vector<std::vector<double>> y(inputs.size());
  if (!f.classifies_tokens())
    HATTN_CHECK_INPUT(!item.continuations.empty(), "a language model scores choices: this data set has none (a "
                      "classifier's data set needs a classifier)");
  for (size_t b0 = 0; b0 < inputs.size(); b0 += static_cast<size_t>(batch)) {
    const size_t n = std::min(inputs.size() - b0, static_cast<size_t>(batch));
    for (size_t b = b0; b < b0 + n; ++b)
      HATTN_CHECK(inputs[b].size() == inputs[b0].size(), "text_scores: a batch of different lengths");
    if (f.classifies_tokens()) {
      const Tensor logits = model.batch_logits(stacked(inputs, b0, n, {}));  // (n, K)
      for (size_t b = 0; b < n; ++b) y[b0 + b] = logits.select(0, static_cast<int64_t>(b)).to(DType::F64).to_vector<double>();
      continue;
    }
    for (const std::vector<int64_t>& cont : item.continuations) {
      const Tensor logits = model.batch_logits(stacked(inputs, b0, n, cont));  // (n, S, V)
      for (size_t b = 0; b < n; ++b)
        y[b0 + b].push_back(continuation_log_prob(logits.select(0, static_cast<int64_t>(b)),
                                                  static_cast<int64_t>(inputs[b0].size()), cont));
    }
  }
  return y;
}

std::vector<double> text_scores(const Explainable& model, const TextItem& item, const std::vector<int64_t>& ids) {
  return text_scores(model, item, std::vector<std::vector<int64_t>>{ids}, 1)[0];
}

void evaluate_text_item(const Explainable& model, const TextItem& item, const std::vector<EvalMethod>& methods,
                        std::optional<TokenTest> test, int64_t mask_id, uint64_t seed, TextEvalCounts& counts,
                        int64_t batch) {
  const FamilyInfo& f = model.info();
  const std::vector<double> clean = text_scores(model, item, item.ids);
  HATTN_CHECK(item.correct >= 0 && item.correct < static_cast<int64_t>(clean.size()), "evaluate_text_item: answer ",
              item.correct, " of ", clean.size());
  ++counts.items;
  counts.correct += std::max_element(clean.begin(), clean.end()) - clean.begin() == item.correct;
  if (!test || methods.empty()) return;
  std::vector<Method> wanted;
  for (const EvalMethod& m : methods) wanted.push_back(m.method);
  const int64_t T = static_cast<int64_t>(item.ids.size());
  const Target target{item.target, f.classifies_tokens() ? -1 : T - 1};
  const Trace t = std::move(model.trace(Tensor::from_vector(item.ids, {1, T}), {target}, trace_options(f, wanted))[0]);
  for (const EvalMethod& m : methods) {
    ExplainOptions o;
    o.variant = m.variant;
    o.seed = seed;
    o.ablation = m.ablation;
    const std::vector<float> r = explain(t, f, m.method, o).to_vector<float>();
    const std::vector<std::vector<double>> steps =
        text_scores(model, item, perturbed_inputs(item.ids, item.perturbable, r, *test, mask_id), batch);
    counts.curves[m.label].add(step_values(*test, steps, clean, item.correct));
  }
}

}  // namespace ha::xai
