// The synthetic associative-recall task the bundled language models are trained on, where the token that holds
// the answer is known (the language counterpart of segmentation masks). A sample is text over single-byte
// tokens (token id = byte value, so a byte-level tokenizer.json with no merges reads it):
//   "a3k7q1m9|k"  ->  answer "7"
// K distinct keys (a-z), each followed by its value (0-9), then '|' and one of the keys; the next token is that
// key's value, which sits at position 2·i + 1 for the i-th pair. Samples are a pure function of (seed, index).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ha {

struct RecallSample {
  std::vector<int64_t> ids;  // 2K + 2 tokens, the last one the query key
  int64_t answer = 0;        // the value's token id
  int64_t answer_position = 0;  // where that value token is in `ids`
  std::string text() const;
};

RecallSample recall_sample(uint64_t seed, int64_t index, int64_t pairs);
// The evaluation stream of seed 0 (hattn lm train's held-out samples; lm eval scores indices from 1,000,000 on).
constexpr uint64_t kRecallEvalSeed = 1000003;
// The byte-level tokenizer.json (256 single-byte tokens, no merges) that reads these samples as text.
std::string byte_tokenizer_json();

}  // namespace ha
