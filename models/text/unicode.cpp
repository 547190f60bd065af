#include "models/text/unicode.h"

#include <algorithm>

#include "models/text/unicode_tables.h"
#include "tensor/error.h"

namespace ha::text {
namespace t = tables;
namespace {

bool in_ranges(const t::CodeRange* r, size_t n, char32_t c) {
  const t::CodeRange* end = r + n;
  const t::CodeRange* it = std::upper_bound(r, end, c, [](char32_t v, const t::CodeRange& x) { return v < x.first; });
  return it != r && c <= (it - 1)->last;
}

// Hangul syllables: S = SBase + (L·VCount + V)·TCount + T
constexpr char32_t SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
constexpr int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

// The `tokenizers` library's normalisation tables lack one decomposition, U+11938 -> U+11935 U+11930 (Unicode
// 13.0): it neither decomposes U+11938 nor composes the pair. `library` follows it.
constexpr char32_t kLibraryKeepsWhole = 0x11938;

void decompose(char32_t c, std::u32string& out, bool library) {
  if (library && c == kLibraryKeepsWhole) {
    out += c;
    return;
  }
  if (c >= SBase && c < SBase + SCount) {
    const int s = static_cast<int>(c - SBase);
    out += LBase + s / NCount;
    out += VBase + (s % NCount) / TCount;
    if (s % TCount) out += TBase + s % TCount;
    return;
  }
  const t::Decomposition* end = t::kDecompositions + t::kDecompositionCount;
  const t::Decomposition* it = std::lower_bound(t::kDecompositions, end, c,
                                                [](const t::Decomposition& d, char32_t v) { return d.cp < v; });
  if (it != end && it->cp == c) {
    out.append(t::kDecompositionCodes + it->offset, t::kDecompositionCodes + it->offset + it->length);
  } else {
    out += c;
  }
}

// The primary composite of (a, b), or 0.
char32_t compose_pair(char32_t a, char32_t b, bool library) {
  if (library && a == 0x11935 && b == 0x11930) return 0;
  if (a >= LBase && a < LBase + LCount && b >= VBase && b < VBase + VCount)
    return SBase + ((a - LBase) * VCount + (b - VBase)) * TCount;
  if (a >= SBase && a < SBase + SCount && (a - SBase) % TCount == 0 && b > TBase && b < TBase + TCount)
    return a + (b - TBase);
  const t::Composition* end = t::kCompositions + t::kCompositionCount;
  const t::Composition* it = std::lower_bound(t::kCompositions, end, std::pair<char32_t, char32_t>{a, b},
                                              [](const t::Composition& x, const std::pair<char32_t, char32_t>& v) {
                                                return x.first < v.first || (x.first == v.first && x.second < v.second);
                                              });
  return it != end && it->first == a && it->second == b ? it->composite : 0;
}

}  // namespace

const char* unicode_version() { return t::kUnicodeVersion; }

bool is_letter(char32_t c) { return in_ranges(t::kLetters, t::kLettersCount, c); }
bool is_number(char32_t c) { return in_ranges(t::kNumbers, t::kNumbersCount, c); }
bool is_white_space(char32_t c) { return in_ranges(t::kWhiteSpace, t::kWhiteSpaceCount, c); }

bool is_bert_control(char32_t c) { return in_ranges(t::kBertControl, t::kBertControlCount, c); }
bool is_bert_nonspacing_mark(char32_t c) { return in_ranges(t::kBertMarks, t::kBertMarksCount, c); }
bool is_bert_punctuation(char32_t c) {
  const bool ascii = (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
  return ascii || in_ranges(t::kBertPunctuation, t::kBertPunctuationCount, c);
}

void append_lowercase(char32_t c, std::u32string& out) {
  if (c >= 'A' && c <= 'Z') {
    out += c + 32;
    return;
  }
  const t::Mapping* end = t::kLowercase + t::kLowercaseCount;
  const t::Mapping* it =
      std::lower_bound(t::kLowercase, end, c, [](const t::Mapping& m, char32_t v) { return m.cp < v; });
  if (it != end && it->cp == c) {
    out.append(t::kLowercaseCodes + it->offset, t::kLowercaseCodes + it->offset + it->length);
  } else {
    out += c;
  }
}

uint8_t combining_class(char32_t c) {
  const t::CombiningRange* end = t::kCombining + t::kCombiningCount;
  const t::CombiningRange* it =
      std::upper_bound(t::kCombining, end, c, [](char32_t v, const t::CombiningRange& x) { return v < x.first; });
  return it != t::kCombining && c <= (it - 1)->last ? (it - 1)->ccc : 0;
}

namespace {

// Full canonical decomposition followed by the canonical ordering (a stable sort of each run of non-starters by
// combining class).
std::u32string decompose_ordered(const std::u32string& s, bool library) {
  std::u32string d;
  d.reserve(s.size());
  for (char32_t c : s) decompose(c, d, library);
  for (size_t i = 0; i < d.size();) {
    if (combining_class(d[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < d.size() && combining_class(d[j]) != 0) ++j;
    std::stable_sort(d.begin() + i, d.begin() + j,
                     [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
  return d;
}

bool is_ascii(const std::u32string& s) {
  return std::all_of(s.begin(), s.end(), [](char32_t c) { return c < 0x80; });
}

std::u32string nfd_impl(const std::u32string& s, bool library) {
  return is_ascii(s) ? s : decompose_ordered(s, library);
}

std::u32string nfc_impl(const std::u32string& s, bool library) {
  if (is_ascii(s)) return s;  // ASCII is its own NFC
  const std::u32string d = decompose_ordered(s, library);
  // canonical composition
  std::u32string out;
  out.reserve(d.size());
  size_t starter = std::u32string::npos;  // index in `out` of the last starter
  int last_ccc = -1;                      // class of the last character appended after that starter
  for (char32_t c : d) {
    const int ccc = combining_class(c);
    if (starter != std::u32string::npos) {
      const bool blocked = last_ccc != -1 && (last_ccc == 0 || last_ccc >= ccc);
      if (!blocked) {
        if (const char32_t comp = compose_pair(out[starter], c, library)) {
          out[starter] = comp;
          continue;
        }
      }
    }
    if (ccc == 0) {
      starter = out.size();
      last_ccc = -1;
    } else {
      last_ccc = ccc;
    }
    out += c;
  }
  return out;
}

}  // namespace

std::u32string nfc(const std::u32string& s) { return nfc_impl(s, false); }
std::u32string nfd(const std::u32string& s) { return nfd_impl(s, false); }
std::u32string tokenizers_nfc(const std::u32string& s) { return nfc_impl(s, true); }
std::u32string tokenizers_nfd(const std::u32string& s) { return nfd_impl(s, true); }

void utf8_append(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

std::string utf8_encode(const std::u32string& s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) utf8_append(out, c);
  return out;
}

namespace {

// Length of the valid sequence at s[i] (1..4), or 0 with `bad` = the length of the maximal invalid subpart
// (Unicode 15, §3.9, table 3-7 well-formed byte sequences).
int sequence_at(const std::string& s, size_t i, char32_t& cp, int& bad) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  int n = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c == 0xE0) n = 3, lo = 0xA0;
  else if (c >= 0xE1 && c <= 0xEC) n = 3;
  else if (c == 0xED) n = 3, hi = 0x9F;
  else if (c >= 0xEE && c <= 0xEF) n = 3;
  else if (c == 0xF0) n = 4, lo = 0x90;
  else if (c >= 0xF1 && c <= 0xF3) n = 4;
  else if (c == 0xF4) n = 4, hi = 0x8F;
  bad = 1;
  if (n == 0) return 0;
  cp = c & (0xFF >> (n + 1));
  for (int k = 1; k < n; ++k) {
    if (i + k >= s.size()) return 0;
    const unsigned char x = b(i + k);
    if (x < (k == 1 ? lo : 0x80) || x > (k == 1 ? hi : 0xBF)) return 0;
    cp = (cp << 6) | (x & 0x3F);
    bad = k + 1;
  }
  return n;
}

}  // namespace

std::u32string utf8_decode(const std::string& s, const std::string& what) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    int bad = 0;
    const int n = sequence_at(s, i, cp, bad);
    HATTN_CHECK_INPUT(n > 0, what, ": invalid UTF-8 at byte ", i);
    out += cp;
    i += n;
  }
  return out;
}

std::string utf8_sanitize(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    int bad = 0;
    const int n = sequence_at(s, i, cp, bad);
    if (n > 0) {
      out.append(s, i, n);
      i += n;
    } else {
      utf8_append(out, 0xFFFD);
      i += bad;
    }
  }
  return out;
}

}  // namespace ha::text
