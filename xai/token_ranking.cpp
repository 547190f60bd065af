#include "xai/token_ranking.h"

#include "tensor/error.h"

namespace ha::xai {

TokenRankScore score_token_relevance(const std::vector<float>& r, int64_t query, int64_t positive) {
  HATTN_CHECK(query >= 2 && query <= static_cast<int64_t>(r.size()) && positive >= 0 && positive < query,
              "token ranking: the positive ", positive, " must lie before the query ", query,
              " with at least one other candidate");
  const float p = r[positive];
  double below = 0;
  bool unique_top = true;
  for (int64_t j = 0; j < query; ++j) {
    if (j == positive) continue;
    if (r[j] < p) below += 1;
    else if (r[j] == p) below += 0.5;
    if (r[j] >= p) unique_top = false;
  }
  return {unique_top ? 1.0 : 0.0, below / double(query - 1)};
}

}  // namespace ha::xai
