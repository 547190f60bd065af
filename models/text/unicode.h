// UTF-8 and the Unicode operations the tokenizer needs: code-point classes (letter, number, White_Space), NFC
// (canonical decomposition, canonical ordering, canonical composition with Hangul done arithmetically), and
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
const char* unicode_version();

}  // namespace ha::text
