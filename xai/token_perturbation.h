// Token perturbation (the paper's App. A and Table 3: AUAC and AU-MSE; docs/definitions.md §11), apart from any
// model. An item has perturbable positions P (n = |P|), a relevance r over the tokens, a mask token u and scores y
// over its classes or choices, c the correct one. Step k = 0..10 perturbs n_k = ⌊k·n/10⌋ positions:
//   activation  every position of P set to u, then the n_k of largest r restored;  v_k = softmax(y_k)[c]
//   pruning     the n_k positions of smallest |r| set to u;                     v_k = mean((y_clean − y_k)²)
// (ties: the lower position first). The item's area is the trapezoid Σ_{k<10} (v_k + v_{k+1})/2 · 0.1 (AUAC in
// [0, 1], higher is better; AU-MSE, lower is better); a data set's value is the mean over items. Results are
// kept as sums so shards merge exactly.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ha::xai {

constexpr int kTokenSteps = 10;
enum class TokenTest { Activation, Pruning };
const char* token_test_name(TokenTest t);       // activation | pruning
const char* token_metric_name(TokenTest t);     // auac | au_mse

// The positions of P in the order the test uses them: activation restores the largest r first, pruning masks the
// smallest |r| first; ties the lower position first.
std::vector<int64_t> token_order(const std::vector<float>& relevance, const std::vector<int64_t>& positions,
                                 TokenTest test);
// The kTokenSteps + 1 inputs of the test (step k = 0..10).
std::vector<std::vector<int64_t>> perturbed_inputs(const std::vector<int64_t>& ids, const std::vector<int64_t>& positions,
                                                   const std::vector<float>& relevance, TokenTest test, int64_t mask_id);
// v_k from the scores of the step inputs (and, for pruning, the clean scores).
std::vector<double> step_values(TokenTest test, const std::vector<std::vector<double>>& step_scores,
                                const std::vector<double>& clean_scores, int64_t correct);
double token_area(const std::vector<double>& v);  // the trapezoid over k = 0..10, step 0.1

struct TokenCurve {
  std::vector<double> sum = std::vector<double>(kTokenSteps + 1, 0.0);  // Σ over items of v_k
  double area = 0;  // Σ over items of the area
  int64_t items = 0;
  void add(const std::vector<double>& v);
  void merge(const TokenCurve& o);
  double mean_area() const { return items ? area / items : 0.0; }
};

struct TextEvalCounts {
  std::string test;  // activation | pruning | accuracy
  std::map<std::string, TokenCurve> curves;  // by method
  int64_t items = 0, correct = 0;            // the clean predictions
  struct Progress {                          // as EvalCounts::Progress: which run, how far (ignored by merge)
    std::string run;
    int64_t done = 0, total = 0;
  } progress;
  void merge(const TextEvalCounts& o);
  void save_csv(const std::string& path) const;
  static TextEvalCounts load_csv(const std::string& path);
};

// DIR/results.json ({"<method>": {"auac" or "au_mse", "items"}, "accuracy": {"accuracy", "items"}, "provenance":
// ...}), results.md, curves.csv (method, step, value) and curves.svg; returns the Markdown. `provenance` is a JSON
// object's text (or empty).
std::string write_text_reports(const TextEvalCounts& counts, const std::string& dir, const std::string& title,
                               const std::string& provenance);

}  // namespace ha::xai
