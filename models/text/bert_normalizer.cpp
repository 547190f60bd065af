#include "models/text/bert_normalizer.h"

#include "models/text/unicode.h"

namespace ha::text {

bool is_cjk_ideograph(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

std::u32string bert_normalize(const std::u32string& in, const BertNormalizerOptions& o) {
  std::u32string s;
  s.reserve(in.size());
  for (char32_t c : in) {
    if (o.clean_text) {
      if (c == 0 || c == 0xFFFD || is_bert_control(c)) continue;
      if (is_white_space(c)) c = U' ';
    }
    if (o.handle_chinese_chars && is_cjk_ideograph(c)) {
      s += U' ';
      s += c;
      s += U' ';
    } else {
      s += c;
    }
  }
  if (o.strip_accents) {
    std::u32string kept;
    for (char32_t c : tokenizers_nfd(s))
      if (!is_bert_nonspacing_mark(c)) kept += c;
    s.swap(kept);
  }
  if (o.lowercase) {
    std::u32string lower;
    lower.reserve(s.size());
    for (char32_t c : s) append_lowercase(c, lower);
    s.swap(lower);
  }
  return s;
}

std::vector<std::pair<size_t, size_t>> bert_pre_tokenize(const std::u32string& s) {
  std::vector<std::pair<size_t, size_t>> words;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool space = is_white_space(s[i]);
    if (!space && !is_bert_punctuation(s[i])) continue;
    if (i > start) words.emplace_back(start, i);
    if (!space) words.emplace_back(i, i + 1);
    start = i + 1;
  }
  if (start < s.size()) words.emplace_back(start, s.size());
  return words;
}

}  // namespace ha::text
