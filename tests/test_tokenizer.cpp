// The byte-level BPE and WordPiece tokenizers against the `tokenizers` library (scripts/make_tokenizer_goldens.py:
// tokenizers trained in GPT-NeoX's and BERT's configurations, texts in many scripts, BERT's hostile cases), NFC
// against the Unicode conformance file, and UTF-8 handling.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "models/io/json.h"
#include "models/text/bpe_tokenizer.h"
#include "models/text/pretokenize.h"
#include "models/text/bert_normalizer.h"
#include "models/text/tokenizer.h"
#include "models/text/wordpiece_tokenizer.h"
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

// Three WordPiece configurations (uncased with a template, cased with BertProcessing and a 12-character word
// limit, and the uncased vocabulary as a bare vocab.txt checked against transformers' BertTokenizerFast) give the
// library's ids, tokens and decoded text on every case.
TEST(Tokenizer, WordPieceMatchesTheTokenizersLibrary) {
  std::map<std::string, std::unique_ptr<text::Tokenizer>> tokenizers;
  int n = 0;
  for (const json::Value& c : read_jsonl(kText + "bert_goldens.jsonl")) {
    const std::string& file = c.find("tokenizer")->text;
    auto& tk = tokenizers[file];
    if (!tk) tk = text::load_tokenizer(kText + file);
    const std::string& t = c.find("text")->text;
    const std::vector<int64_t> want = ids_of(*c.find("ids"));
    const std::vector<int64_t> got = tk->encode(t);
    EXPECT_EQ(got, want) << file << ": '" << t << "'";
    std::vector<std::string> tokens, want_tokens;
    for (int64_t id : got) tokens.push_back(tk->token(id));
    for (const json::Value& x : c.find("tokens")->items) want_tokens.push_back(x.text);
    EXPECT_EQ(tokens, want_tokens) << file << ": '" << t << "'";
    EXPECT_EQ(tk->decode(want), c.find("decoded")->text) << file << ": '" << t << "'";
    ++n;
  }
  EXPECT_EQ(tokenizers.size(), 3u);
  EXPECT_GT(n, 100);
}

// The one place where the `tokenizers` library's normalisation departs from Unicode's (its tables lack U+11938's
// decomposition); the tokenizers follow the library, nfc/nfd follow Unicode.
TEST(Unicode, TheLibrarysNormalisationQuirk) {
  EXPECT_EQ(text::nfc(U"\U00011935\U00011930"), U"\U00011938");
  EXPECT_EQ(text::nfd(U"\U00011938"), U"\U00011935\U00011930");
  EXPECT_EQ(text::tokenizers_nfc(U"\U00011935\U00011930"), U"\U00011935\U00011930");
  EXPECT_EQ(text::tokenizers_nfd(U"\U00011938"), U"\U00011938");
  EXPECT_EQ(text::tokenizers_nfd(U"e\u0301"), text::nfd(U"\u00E9"));
}

TEST(Tokenizer, BertNormalizerByCharacter) {
  const text::BertNormalizerOptions uncased;
  auto norm = [&](const std::u32string& s) { return text::bert_normalize(s, uncased); };
  EXPECT_EQ(norm(U"\u0130"), U"i");  // İ: NFD gives I + U+0307, the mark goes, then lowercase
  EXPECT_EQ(text::bert_normalize(U"\u0130", {true, true, false, true}), U"i\u0307");  // full lowercase mapping
  EXPECT_EQ(norm(U"A\u0301\tB\u0000\uFFFD"), U"a b");  // accent stripped, tab to space, NUL and U+FFFD removed
  EXPECT_EQ(norm(U"\u4E2D"), U" \u4E2D ");
  EXPECT_TRUE(text::is_bert_punctuation(U'$'));       // ASCII punctuation though Unicode says Sc
  EXPECT_TRUE(text::is_bert_punctuation(U'\u166D'));  // Po in Unicode 8.0, So today
  EXPECT_FALSE(text::is_bert_punctuation(U'\u2E43'));  // assigned after 8.0
  const std::u32string s = U"a,b  c!";
  std::vector<std::u32string> words;
  for (auto [b, e] : text::bert_pre_tokenize(s)) words.push_back(s.substr(b, e - b));
  EXPECT_EQ(words, (std::vector<std::u32string>{U"a", U",", U"b", U"c", U"!"}));
}

TEST(Tokenizer, LoaderTellsTheKindsApartAndRefusesClearly) {
  EXPECT_NE(dynamic_cast<text::BpeTokenizer*>(text::load_tokenizer(kText + "neox_style.json").get()), nullptr);
  EXPECT_NE(dynamic_cast<text::WordPieceTokenizer*>(text::load_tokenizer(kText + "bert_cased.json").get()), nullptr);
  const std::string dir = ::testing::TempDir() + "/wp_bad/";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "unigram.json") << R"({"model": {"type": "Unigram", "vocab": []}})";
  EXPECT_NE(error_of([&] { text::load_tokenizer(dir + "unigram.json"); }).find("'Unigram' is not supported"),
            std::string::npos);
  std::ofstream(dir + "no_unk.json") << R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}})";
  EXPECT_NE(error_of([&] { text::load_tokenizer(dir + "no_unk.json"); }).find("'[UNK]' is not in the vocabulary"),
            std::string::npos);
  std::ofstream(dir + "vocab.txt") << "[UNK]\na\n";
  EXPECT_NE(error_of([&] { text::load_tokenizer(dir + "vocab.txt"); }).find("no [CLS] or [SEP]"), std::string::npos);
  const auto tk = text::load_tokenizer(kText + "bert_uncased.json");
  EXPECT_NE(error_of([&] { tk->encode("ok\xFF"); }).find("invalid UTF-8 at byte 2"), std::string::npos);
  EXPECT_NE(error_of([&] { tk->decode({999999}); }).find("not in the tokenizer's vocabulary"), std::string::npos);
  EXPECT_TRUE(tk->is_special(tk->id_of("[CLS]")));
  EXPECT_FALSE(tk->is_special(tk->id_of("a")));
}

}  // namespace
}  // namespace ha::test
