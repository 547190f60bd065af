// Token heatmaps: a text (one string per token) with each token's relevance as its background, as HTML (hover
// for the value) and as a PNG. The query token is outlined; tokens after it are grey (a causal model cannot use
// them). Values are scaled by the largest one before the query (the query's own, often the largest, is clamped).
#pragma once
#include <string>
#include <vector>

#include "models/io/image.h"

namespace ha::xai {

struct TokenHeat {
  std::vector<std::string> tokens;  // what to print for each token (UTF-8 for HTML; the PNG font is ASCII)
  std::vector<float> values;        // relevance, >= 0
  int64_t query = 0;
  std::string title;
};

std::string token_heatmap_html(const TokenHeat& h);
Image8 token_heatmap_png(const TokenHeat& h);

}  // namespace ha::xai
