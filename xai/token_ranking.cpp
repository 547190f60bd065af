#include "xai/token_ranking.h"

#include <algorithm>

#include "tensor/error.h"

namespace ha::xai {

TokenRankScore score_token_relevance(const std::vector<float>& r, int64_t query, int64_t positive) {
  HATTN_CHECK(query >= 2 && query <= static_cast<int64_t>(r.size()) && positive >= 0 && positive < query,
              "token ranking: the positive ", positive, " must lie before the query ", query,
              " with at least one other candidate");
  std::vector<int64_t> candidates(query);
  for (int64_t j = 0; j < query; ++j) candidates[j] = j;
  return score_token_set(r, candidates, {positive});
}

TokenRankScore score_token_set(const std::vector<float>& r, const std::vector<int64_t>& candidates,
                               const std::vector<int64_t>& positives) {
  std::vector<float> pos, neg;
  for (int64_t c : candidates) {
    HATTN_CHECK(c >= 0 && c < static_cast<int64_t>(r.size()), "token ranking: candidate ", c, " outside the map");
    (std::find(positives.begin(), positives.end(), c) != positives.end() ? pos : neg).push_back(r[c]);
  }
  HATTN_CHECK(!pos.empty() && !neg.empty() && pos.size() == positives.size(), "token ranking: ", positives.size(),
              " positives among ", candidates.size(), " candidates (each positive a candidate, one other at least)");
  const float top = *std::max_element(pos.begin(), pos.end());
  bool unique_top = true;  // no candidate that is not a positive reaches the top
  double right = 0;
  for (float n : neg) {
    if (n >= top) unique_top = false;
    for (float p : pos) right += p > n ? 1.0 : p == n ? 0.5 : 0.0;
  }
  return {unique_top ? 1.0 : 0.0, right / double(pos.size() * neg.size())};
}

}  // namespace ha::xai
