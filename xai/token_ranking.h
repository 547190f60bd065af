// How well a per-token relevance vector points at the one token known to hold the answer (the recall task's
// value token): the language counterpart of scoring a map against a segmentation mask. Candidates are the
// tokens before the query; the positive is the answer's token.
//   top1: 1 when the answer's token has the largest relevance among the candidates and no other candidate
//         ties it, else 0
//   auc:  ROC-AUC of the relevance as a score for "is the answer's token" = the fraction of the other
//         candidates ranked below it, ties counting one half
#pragma once
#include <cstdint>
#include <vector>

namespace ha::xai {

struct TokenRankScore {
  double top1 = 0, auc = 0;
};

TokenRankScore score_token_relevance(const std::vector<float>& relevance, int64_t query, int64_t positive);
// The same for a set of positives among the candidate positions: top1 = 1 when a positive holds the largest
// relevance among the candidates and no candidate that is not a positive reaches it; auc = the fraction of (positive, other)
// pairs ranked right, ties counting one half. The recall score is the one-positive case over [0, query).
TokenRankScore score_token_set(const std::vector<float>& relevance, const std::vector<int64_t>& candidates,
                               const std::vector<int64_t>& positives);

}  // namespace ha::xai
