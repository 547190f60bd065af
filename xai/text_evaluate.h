// The text protocols over a model (docs/definitions.md §11): an item's scores under the model, and one item scored
// for the clean accuracy and, per method, the token-perturbation curve of the map explaining its target.
#pragma once
#include <optional>
#include <vector>

#include "models/text_tasks.h"
#include "xai/evaluate.h"
#include "xai/token_perturbation.h"

namespace ha::xai {

// y for the item read as `ids` (the item's own, or a perturbed copy): a classifier's class logits; for a language
// model with choices, Σ log p(continuation tokens | ids) per choice.
std::vector<double> text_scores(const Explainable& model, const TextItem& item, const std::vector<int64_t>& ids);
// The same for several inputs of one length (a test's perturbed copies), `batch` sequences per forward
// (Explainable::batch_logits); equal to text_scores of each up to float32 rounding.
std::vector<std::vector<double>> text_scores(const Explainable& model, const TextItem& item,
                                             const std::vector<std::vector<int64_t>>& inputs, int64_t batch);

// Adds the item to `counts`: its clean prediction (correct when the argmax of y is item.correct) and, with a test,
// every method's curve (maps explaining item.target at the last token of ids, or at [CLS] for BERT; `seed` is the
// random baseline's).
void evaluate_text_item(const Explainable& model, const TextItem& item, const std::vector<EvalMethod>& methods,
                        std::optional<TokenTest> test, int64_t mask_id, uint64_t seed, TextEvalCounts& counts,
                        int64_t batch = 1);

}  // namespace ha::xai
