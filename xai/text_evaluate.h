// The text protocols over a model (docs/definitions.md §11): an item's scores under the model, and one item scored
// for the clean accuracy and, per method, the token-perturbation curve of the map explaining its target.
#pragma once
#include <optional>
#include <vector>

#include "models/text_tasks.h"
#include "xai/evaluate.h"
#include "xai/token_perturbation.h"

namespace ha::xai {

// One input to score: an item's ids, or a perturbed copy of them.
struct ScoreRequest {
  const TextItem* item = nullptr;
  std::vector<int64_t> ids;
};
// y of each request: a classifier's class logits; for a language model with choices, Σ log p(continuation tokens |
// ids) per choice. Every sequence (a request, or a request followed by one choice's continuation) goes through
// Explainable::batch_logits `batch` at a time, shortest first, right-padded to the longest of its forward; equal
// to scoring each alone up to float32 rounding.
std::vector<std::vector<double>> text_scores(const Explainable& model, const std::vector<ScoreRequest>& requests,
                                             int64_t batch);
std::vector<double> text_scores(const Explainable& model, const TextItem& item, const std::vector<int64_t>& ids);

// An item and the seed of its random baseline.
struct SeededItem {
  const TextItem* item = nullptr;
  uint64_t seed = 0;
};
// The sequences evaluate_text_items scores for one item: its clean input and, with a test, kTokenSteps + 1 copies
// per method, each once per choice of a language model.
int64_t text_sequences(const TextItem& item, size_t methods, bool test);

// Adds the items to `counts`, in order: each one's clean prediction (correct when the argmax of y is item.correct)
// and, with a test, every method's curve (maps explaining item.target at the last token of ids, or at [CLS] for
// BERT). The items are traced one at a time; every sequence to score, across items, methods and choices, goes
// through text_scores `batch` at a time.
void evaluate_text_items(const Explainable& model, const std::vector<SeededItem>& items,
                         const std::vector<EvalMethod>& methods, std::optional<TokenTest> test, int64_t mask_id,
                         TextEvalCounts& counts, int64_t batch);
// One item.
void evaluate_text_item(const Explainable& model, const TextItem& item, const std::vector<EvalMethod>& methods,
                        std::optional<TokenTest> test, int64_t mask_id, uint64_t seed, TextEvalCounts& counts,
                        int64_t batch = 1);

}  // namespace ha::xai
