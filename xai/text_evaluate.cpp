#include "xai/text_evaluate.h"

#include <algorithm>
#include <cmath>

#include "ops/ops.h"

namespace ha::xai {

std::vector<double> text_scores(const Explainable& model, const TextItem& item, const std::vector<int64_t>& ids) {
  const FamilyInfo& f = model.info();
  const int64_t T = static_cast<int64_t>(ids.size());
  if (f.classifies_tokens()) return model.logits(Tensor::from_vector(ids, {1, T})).to(DType::F64).to_vector<double>();
  HATTN_CHECK_INPUT(!item.continuations.empty(), "a language model scores choices: this data set has none (a "
                    "classifier's data set needs a classifier)");
  std::vector<double> y;
  for (const std::vector<int64_t>& cont : item.continuations) {
    std::vector<int64_t> seq = ids;
    seq.insert(seq.end(), cont.begin(), cont.end());
    const int64_t S = static_cast<int64_t>(seq.size());
    const Tensor logits = model.logits(Tensor::from_vector(seq, {1, S}));  // (S, V)
    double total = 0;
    for (size_t j = 0; j < cont.size(); ++j) {  // position T − 1 + j predicts cont[j]
      const std::vector<double> row = logits.select(0, T - 1 + static_cast<int64_t>(j)).to(DType::F64).to_vector<double>();
      const double top = *std::max_element(row.begin(), row.end());
      double z = 0;
      for (double v : row) z += std::exp(v - top);
      total += row[cont[j]] - top - std::log(z);
    }
    y.push_back(total);
  }
  return y;
}

void evaluate_text_item(const Explainable& model, const TextItem& item, const std::vector<EvalMethod>& methods,
                        std::optional<TokenTest> test, int64_t mask_id, uint64_t seed, TextEvalCounts& counts) {
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
    const std::vector<float> r = explain(t, f, m.method, o).to_vector<float>();
    std::vector<std::vector<double>> steps;
    for (const std::vector<int64_t>& x : perturbed_inputs(item.ids, item.perturbable, r, *test, mask_id))
      steps.push_back(text_scores(model, item, x));
    counts.curves[m.label].add(step_values(*test, steps, clean, item.correct));
  }
}

}  // namespace ha::xai
