// The byte-level BPE tokenizer against the `tokenizers` library (scripts/make_tokenizer_goldens.py: a tokenizer
// trained in GPT-NeoX's configuration, texts in many scripts), NFC against the Unicode conformance file, and
// UTF-8 handling.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "models/io/json.h"
#include "models/text/bpe_tokenizer.h"
#include "models/text/pretokenize.h"
#include "models/text/unicode.h"
#include "tests/test_util.h"

namespace ha::test {
namespace {

const std::string kText = std::string(HATTN_TEST_DATA) + "/text/";

std::vector<json::Value> read_jsonl(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << path;
  std::vector<json::Value> out;
  for (std::string line; std::getline(f, line);)
    if (!line.empty()) out.push_back(json::parse(line, path));
  return out;
}

std::vector<int64_t> ids_of(const json::Value& v) {
  std::vector<int64_t> ids;
  for (const json::Value& x : v.items) ids.push_back(x.as_int());
  return ids;
}

std::u32string hex_codes(const std::string& s) {
  std::u32string out;
  std::istringstream in(s);
  for (std::string h; in >> h;) out += static_cast<char32_t>(std::stoul(h, nullptr, 16));
  return out;
}

TEST(Unicode, NfcConformance) {
  std::ifstream f(kText + "nfc_conformance.txt");
  ASSERT_TRUE(f.good());
  int cases = 0, failures = 0;
  for (std::string line; std::getline(f, line);) {
    if (line.empty() || line[0] == '#') continue;
    const size_t semi = line.find(';');
    const std::u32string src = hex_codes(line.substr(0, semi)), want = hex_codes(line.substr(semi + 1));
    ++cases;
    if (text::nfc(src) != want && ++failures <= 5) ADD_FAILURE() << "NFC of " << line.substr(0, semi);
  }
  EXPECT_EQ(failures, 0);
  EXPECT_GT(cases, 3000);
  std::cout << "  [nfc] " << cases << " conformance cases, Unicode " << text::unicode_version() << "\n";
}

TEST(Unicode, Utf8StrictAndLossy) {
  EXPECT_EQ(text::utf8_encode(text::utf8_decode("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80")),
            "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  for (const char* bad : {"\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x82", "\x80"})
    EXPECT_NE(error_of([&] { text::utf8_decode(std::string("ok") + bad, "probe"); }).find("invalid UTF-8 at byte 2"),
              std::string::npos) << bad;
  const std::string fffd = "\xEF\xBF\xBD";
  // maximal subparts: a truncated 3-byte sequence is one U+FFFD; a lone continuation byte is one each
  EXPECT_EQ(text::utf8_sanitize("a\xE2\x82" "b"), "a" + fffd + "b");
  EXPECT_EQ(text::utf8_sanitize("\x80\x80"), fffd + fffd);
  EXPECT_EQ(text::utf8_sanitize("\xF0\x9F\x98"), fffd);
  EXPECT_EQ(text::utf8_sanitize("\xED\xA0\x80"), fffd + fffd + fffd);  // a surrogate: E D then two strays
}

TEST(Tokenizer, SplitPattern) {
  auto words = [](const std::string& s) {
    const std::u32string u = text::utf8_decode(s);
    std::vector<std::string> out;
    for (auto [b, e] : text::split_words(u)) out.push_back(text::utf8_encode(u.substr(b, e - b)));
    return out;
  };
  EXPECT_EQ(words("  a"), (std::vector<std::string>{" ", " a"}));
  EXPECT_EQ(words("don't stop"), (std::vector<std::string>{"don", "'t", " stop"}));
  EXPECT_EQ(words("x  \n"), (std::vector<std::string>{"x", "  \n"}));
  EXPECT_EQ(words("a1!! b"), (std::vector<std::string>{"a", "1", "!!", " b"}));
}

// Both spellings of the merges (NeoX's "a b" strings and newer [a, b] pairs) give the library's ids, tokens and
// decoded text on every case.
TEST(Tokenizer, MatchesTheTokenizersLibrary) {
  for (const char* file : {"neox_style.json", "neox_pairs.json"}) {
    const text::BpeTokenizer tk = text::BpeTokenizer::load(kText + file);
    int n = 0;
    for (const json::Value& c : read_jsonl(kText + "goldens.jsonl")) {
      const std::string& t = c.find("text")->text;
      const std::vector<int64_t> want = ids_of(*c.find("ids"));
      const std::vector<int64_t> got = tk.encode(t);
      EXPECT_EQ(got, want) << file << ": '" << t << "'";
      std::vector<std::string> tokens;
      for (int64_t id : got) tokens.push_back(tk.token(id));
      std::vector<std::string> want_tokens;
      for (const json::Value& x : c.find("tokens")->items) want_tokens.push_back(x.text);
      EXPECT_EQ(tokens, want_tokens) << file << ": '" << t << "'";
      EXPECT_EQ(tk.decode(want), c.find("decoded")->text) << file << ": '" << t << "'";
      ++n;
    }
    EXPECT_GT(n, 20);
    for (const json::Value& c : read_jsonl(kText + "decode.jsonl"))
      EXPECT_EQ(tk.decode(ids_of(*c.find("ids"))), c.find("decoded")->text);
  }
}

TEST(Tokenizer, BadInputIsRefusedClearly) {
  const text::BpeTokenizer tk = text::BpeTokenizer::load(kText + "neox_style.json");
  EXPECT_NE(error_of([&] { tk.encode("ok\xFF"); }).find("invalid UTF-8 at byte 2"), std::string::npos);
  EXPECT_NE(error_of([&] { tk.decode({999999}); }).find("not in the tokenizer's vocabulary"), std::string::npos);
  EXPECT_NE(error_of([&] { text::BpeTokenizer::load(kText + "missing.json"); }).find("missing.json"),
            std::string::npos);
  const std::string bad = ::testing::TempDir() + "/wordpiece.json";
  std::ofstream(bad) << R"({"model": {"type": "WordPiece", "vocab": {}}})";
  EXPECT_NE(error_of([&] { text::BpeTokenizer::load(bad); }).find("not supported"), std::string::npos);
}

}  // namespace
}  // namespace ha::test
