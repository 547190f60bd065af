// The paper's text data sets as token-perturbation items (docs/definitions.md §11):
//   IMDb (a classifier): the aclImdb folder's test reviews, test/neg/*.txt (label 0) and test/pos/*.txt (label 1),
//     each folder's files in byte order of their names, taken alternately neg, pos, ... (the longer list's rest at
//     the end); the text as is, truncated to max_tokens tokens inside the tokenizer's specials (BERT: [CLS] + the
//     first max − 2 + [SEP]); perturbable: every token but the specials; scores: the label logits; correct: the label.
//   ARC-Easy (a causal LM, zero-shot): the official jsonl, one {"question": {"stem", "choices": [{"text", "label"}]},
//     "answerKey"} per line; prompt "Question: " + stem + "\nAnswer:", each choice's continuation " " + text
//     tokenised separately and appended; scores: Σ log p(continuation tokens | prompt) per choice; correct: the
//     answer's choice; perturbable: the prompt tokens whose first non-space byte lies inside the stem; explained:
//     the prompt's last token predicting the correct continuation's first token.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "models/text/tokenizer.h"

namespace ha {

struct TextItem {
  std::string name;                   // the review's file, or the question's id
  std::vector<int64_t> ids;           // what the model reads (ARC: the prompt)
  std::vector<int64_t> perturbable;   // positions in ids
  int64_t correct = 0;                // the label, or the correct choice
  std::vector<std::vector<int64_t>> continuations;  // ARC: each choice's tokens; empty for a classifier
  int64_t target = -1;                // what the maps explain: the label, or the correct continuation's first token
};

//   sentiment (a classifier): `path` "sentiment", the held-out reviews of the synthetic set (models/sentiment_task.h),
//     read as IMDb's (default limit 1,000).
//   recall (a language model over bytes): `path` "recall", the held-out samples of the recall task (8 pairs, the
//     stream `hattn lm eval --task recall` scores) as ten-choice questions like ARC's: the choices are the digits,
//     the correct one the answer, perturbable the key-value tokens (default limit 1,000).
// Every item of the data set at `path` (an aclImdb folder, an ARC jsonl file, or "sentiment"), in the order above,
// the first `limit` (< 0: all). max_tokens > 0 truncates IMDb texts (ARC prompts are kept whole).
std::vector<TextItem> load_text_items(const std::string& path, const text::Tokenizer& tokenizer, int64_t limit,
                                      int64_t max_tokens);
bool is_arc_data(const std::string& path);  // a file (jsonl); else an aclImdb folder or "sentiment"

}  // namespace ha
