#include "models/text/pretokenize.h"

#include "models/text/unicode.h"

namespace ha::text {
namespace {

bool is_other(char32_t c) { return !is_white_space(c) && !is_letter(c) && !is_number(c); }

// Length of the match of alternative `run` (a class with an optional leading space) at i, or 0.
template <class Pred>
size_t optional_space_run(const std::u32string& s, size_t i, Pred in_class) {
  size_t j = i;
  if (s[j] == U' ' && j + 1 < s.size() && in_class(s[j + 1])) ++j;
  if (!in_class(s[j])) return 0;
  while (j < s.size() && in_class(s[j])) ++j;
  return j - i;
}

size_t contraction(const std::u32string& s, size_t i) {
  if (s[i] != U'\'' || i + 1 >= s.size()) return 0;
  const char32_t a = s[i + 1];
  if (a == U's' || a == U't' || a == U'm' || a == U'd') return 2;
  if (i + 2 < s.size()) {
    const char32_t b = s[i + 2];
    if ((a == U'r' && b == U'e') || (a == U'v' && b == U'e') || (a == U'l' && b == U'l')) return 3;
  }
  return 0;
}

}  // namespace

std::vector<std::pair<size_t, size_t>> split_words(const std::u32string& s) {
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t i = 0; i < s.size();) {
    size_t n = contraction(s, i);
    if (!n) n = optional_space_run(s, i, is_letter);
    if (!n) n = optional_space_run(s, i, is_number);
    if (!n) n = optional_space_run(s, i, is_other);
    if (!n) {  // whitespace: \s+(?!\S), else \s+
      size_t j = i;
      while (j < s.size() && is_white_space(s[j])) ++j;
      n = j - i;
      if (j < s.size() && n > 1) --n;  // leave the last space to the word that follows
    }
    out.emplace_back(i, i + n);
    i += n;
  }
  return out;
}

}  // namespace ha::text
