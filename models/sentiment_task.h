// The synthetic sentiment set the bundled text classifiers are trained on, where the tokens that decide the label
// are known (the classifiers' counterpart of the recall task, models/recall_task.h). A review is 10..30 words of
// neutral filler with 1..3 polar words of the label's polarity (the evidence) and fewer of the other (distractors,
// 0..2), at random places: the majority decides the label (0 negative, 1 positive). Every word is one token of the set's own vocabulary, read by BERT's WordPiece (vocab.txt
// with [PAD] [UNK] [CLS] [SEP] [MASK]), so a review is [CLS] words [SEP] for every architecture. Samples are a pure
// function of (seed, index).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ha {

struct SentimentSample {
  std::vector<int64_t> ids;       // [CLS] words [SEP]
  int64_t label = 0;              // 0 negative, 1 positive
  std::vector<int64_t> evidence;     // positions in ids of the words of the label's polarity
  std::vector<int64_t> distractors;  // positions of the words of the other polarity (fewer)
  std::string text;               // the words joined by spaces
};

// `words` < 0: 10..30 drawn with the rest; else that many, at least 6 (training batches share one length).
SentimentSample sentiment_sample(uint64_t seed, int64_t index, int64_t words = -1);
int64_t sentiment_vocab_size();
// The vocabulary as vocab.txt's text (one token per line) and its tokenizer_config.json.
std::string sentiment_vocab_txt();
std::string sentiment_tokenizer_config();
// Writes `count` samples as an aclImdb-style folder (DIR/test/neg/<index>_1.txt, DIR/test/pos/<index>_10.txt), the
// layout hattn lm eval reads; samples from the evaluation stream of `seed`.
void write_sentiment_folder(const std::string& dir, uint64_t seed, int64_t count);
constexpr uint64_t kSentimentEvalSeedOffset = 7000003;  // the evaluation stream, disjoint from training's

}  // namespace ha
