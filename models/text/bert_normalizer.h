// BERT's text preparation before WordPiece, as the `tokenizers` library's BertNormalizer and BertPreTokenizer do
// it, character by character:
//   clean text:     NUL, U+FFFD and control/format/private-use characters removed (tab, LF and CR kept), then
//                   every White_Space character (tab, LF, CR included) becomes a space;
//   Chinese chars:  each CJK ideograph (the ranges of Google's BERT) gets a space on either side;
//   strip accents:  NFD, then nonspacing marks (Mn) removed; on by default when lowercasing;
//   lowercase:      full lowercase mappings (İ becomes i + U+0307);
//   pre-tokenise:   split at White_Space (dropped) and around every punctuation character (kept, one per word).
// The character classes are the library's (Unicode 8.0's assignments: models/text/unicode.h).
#pragma once
#include <string>
#include <vector>

namespace ha::text {

struct BertNormalizerOptions {
  bool clean_text = true;
  bool handle_chinese_chars = true;
  bool strip_accents = true;  // tokenizer.json's null means "as lowercase"
  bool lowercase = true;
};

std::u32string bert_normalize(const std::u32string& s, const BertNormalizerOptions& o);
// Words as [begin, end) code-point offsets.
std::vector<std::pair<size_t, size_t>> bert_pre_tokenize(const std::u32string& s);
bool is_cjk_ideograph(char32_t c);

}  // namespace ha::text
