// UTF-8 and the Unicode operations the tokenizer needs: code-point classes (letter, number, White_Space), NFC
// and NFD (canonical decomposition, canonical ordering, canonical composition with Hangul done arithmetically),
// lowercase mappings, BERT's character classes, and
// lossy decoding that replaces each maximal invalid subsequence with U+FFFD (as Rust's from_utf8_lossy and
// the Unicode standard's "substitution of maximal subparts" do). Tables: models/text/unicode_tables.h.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ha::text {

// Strict: invalid UTF-8 (overlong forms, surrogates, code points above U+10FFFF, truncated sequences) is an
// InputError naming `what` and the byte offset.
std::u32string utf8_decode(const std::string& s, const std::string& what = "text");
std::string utf8_encode(const std::u32string& s);
void utf8_append(std::string& out, char32_t cp);
// Lossy: every maximal invalid subsequence becomes U+FFFD.
std::string utf8_sanitize(const std::string& bytes);

bool is_letter(char32_t c);       // general category L*
bool is_number(char32_t c);       // general category N*
bool is_white_space(char32_t c);  // the White_Space property
uint8_t combining_class(char32_t c);

std::u32string nfc(const std::u32string& s);
std::u32string nfd(const std::u32string& s);
// As the `tokenizers` library normalises (what the tokenizers use): Unicode's, except that its tables lack
// U+11938's decomposition, so U+11938 stays whole and U+11935 U+11930 stay apart.
std::u32string tokenizers_nfc(const std::u32string& s);
std::u32string tokenizers_nfd(const std::u32string& s);
// Appends c's full lowercase mapping (SpecialCasing's unconditional ones included: U+0130 gives two code points).
void append_lowercase(char32_t c, std::u32string& out);

// The classes BERT's normaliser and pre-tokeniser use, as the `tokenizers` library has them (Unicode 8.0's
// assignments): control, format and private use but tab, LF, CR; nonspacing marks; ASCII or Unicode punctuation.
bool is_bert_control(char32_t c);
bool is_bert_nonspacing_mark(char32_t c);
bool is_bert_punctuation(char32_t c);
const char* unicode_version();

}  // namespace ha::text
