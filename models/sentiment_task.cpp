#include "models/sentiment_task.h"

#include <filesystem>

#include "tensor/atomic_write.h"
#include "tensor/error.h"
#include "tensor/random.h"

namespace ha {
namespace {

const std::vector<std::string> kSpecials = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
const std::vector<std::string> kNegative = {"awful", "terrible", "boring", "dreadful", "dull",
                                            "clumsy", "tedious", "painful", "lifeless", "horrible"};
const std::vector<std::string> kPositive = {"great", "wonderful", "excellent", "superb", "brilliant",
                                            "delightful", "moving", "charming", "stunning", "masterful"};
const std::vector<std::string> kFiller = {
    "the",   "a",     "film",  "movie", "story",  "plot",     "actor", "actress", "scene", "director",
    "music", "camera", "script", "ending", "character", "was",  "is",    "and",     "but",   "with",
    "this",  "that",  "it",    "of",    "in",     "very",     "quite", "rather",  "really", "somewhat",
    "cast",  "role",  "screen", "night", "city",  "year",     "man",   "woman",   "time",  "world"};

// Token ids: the specials, then filler, negative and positive words, in the order above.
int64_t filler_id(size_t i) { return static_cast<int64_t>(kSpecials.size() + i); }
int64_t evidence_id(int64_t label, size_t i) {
  return static_cast<int64_t>(kSpecials.size() + kFiller.size() + (label ? kNegative.size() : 0) + i);
}

}  // namespace

SentimentSample sentiment_sample(uint64_t seed, int64_t index, int64_t words) {
  Generator g(seed * 0xD1B54A32D192ED03ull + static_cast<uint64_t>(index) + 1);
  SentimentSample s;
  s.label = static_cast<int64_t>(g.next_u64() % 2);
  const int64_t drawn = 10 + static_cast<int64_t>(g.next_u64() % 21);
  const int64_t majority = 1 + static_cast<int64_t>(g.next_u64() % 3);
  const int64_t minority = static_cast<int64_t>(g.next_u64() % majority);  // fewer: the majority decides
  if (words < 0) words = drawn;
  HATTN_CHECK(words >= 2 * 3, "sentiment task: ", words, " words (at least 6)");
  std::vector<int> polarity(words, -1);  // -1 filler, else the word's label
  for (int64_t placed = 0; placed < majority + minority;) {  // distinct places
    const int64_t at = static_cast<int64_t>(g.next_u64() % words);
    if (polarity[at] >= 0) continue;
    polarity[at] = static_cast<int>(placed < majority ? s.label : 1 - s.label);
    ++placed;
  }
  s.ids.push_back(2);  // [CLS]
  for (int64_t w = 0; w < words; ++w) {
    std::string word;
    if (polarity[w] >= 0) {
      const std::vector<std::string>& polar = polarity[w] ? kPositive : kNegative;
      const size_t k = g.next_u64() % polar.size();
      s.ids.push_back(evidence_id(polarity[w], k));
      (polarity[w] == s.label ? s.evidence : s.distractors).push_back(w + 1);
      word = polar[k];
    } else {
      const size_t k = g.next_u64() % kFiller.size();
      s.ids.push_back(filler_id(k));
      word = kFiller[k];
    }
    s.text += (w ? " " : "") + word;
  }
  s.ids.push_back(3);  // [SEP]
  return s;
}

int64_t sentiment_vocab_size() {
  return static_cast<int64_t>(kSpecials.size() + kFiller.size() + kNegative.size() + kPositive.size());
}

std::string sentiment_vocab_txt() {
  std::string out;
  for (const auto* list : {&kSpecials, &kFiller, &kNegative, &kPositive})
    for (const std::string& w : *list) out += w + "\n";
  return out;
}

std::string sentiment_tokenizer_config() {
  return "{\"do_lower_case\": true, \"tokenize_chinese_chars\": true, \"strip_accents\": null, \"unk_token\": "
         "\"[UNK]\", \"cls_token\": \"[CLS]\", \"sep_token\": \"[SEP]\", \"pad_token\": \"[PAD]\", \"mask_token\": "
         "\"[MASK]\", \"tokenizer_class\": \"BertTokenizer\"}\n";
}

void write_sentiment_folder(const std::string& dir, uint64_t seed, int64_t count) {
  namespace fs = std::filesystem;
  for (const char* sub : {"test/neg", "test/pos"}) {
    std::error_code ec;
    fs::create_directories(fs::path(dir) / sub, ec);
    HATTN_CHECK_INPUT(!ec, "cannot create '", (fs::path(dir) / sub).string(), "': ", ec.message());
  }
  for (int64_t i = 0; i < count; ++i) {
    const SentimentSample s = sentiment_sample(seed + kSentimentEvalSeedOffset, i);
    const std::string name = str(s.label ? "test/pos/" : "test/neg/", i, s.label ? "_10.txt" : "_1.txt");
    write_file_atomically((fs::path(dir) / name).string(), [&](std::ostream& os) { os << s.text; });
  }
}

}  // namespace ha
