// The byte-level pre-tokeniser's split pattern (GPT-2's, used by GPT-NeoX and the Mamba language models):
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// as a scanner over code points. Alternatives are tried in order at each position, as the regex engine does;
// `\s+(?!\S)` gives a whitespace run without its last character when a non-space follows (that character then
// starts the next word, e.g. "  a" -> " ", " a"). Returns [begin, end) code-point offsets covering the text.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace ha::text {

std::vector<std::pair<size_t, size_t>> split_words(const std::u32string& s);

}  // namespace ha::text
