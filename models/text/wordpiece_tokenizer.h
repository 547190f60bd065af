// BERT's WordPiece tokenizer, from a Hugging Face tokenizer.json (model type WordPiece) or from a vocab.txt with
// its tokenizer_config.json, equal to the `tokenizers` library. Encoding: added tokens not normalised are matched
// in the raw text; the rest goes through BERT's normaliser and pre-tokeniser (models/text/bert_normalizer.h);
// each word becomes its longest vocabulary prefix, then the longest `##`-prefixed piece of the rest, and so on;
// a word with no such cover, or longer than max_input_chars_per_word characters, is one [UNK]. The single-
// sequence template wraps the ids ([CLS] … [SEP]). Decoding joins the tokens with spaces, glues `##` pieces to
// the previous one and applies the library's cleanup (" ." -> ".", " n't" -> "n't", ...).
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

#include "models/text/added_tokens.h"
#include "models/text/bert_normalizer.h"
#include "models/text/tokenizer.h"

namespace ha::json {
struct Value;
}

namespace ha::text {

class WordPieceTokenizer : public Tokenizer {
 public:
  static WordPieceTokenizer from_json(const json::Value& root, const std::string& path);
  // vocab.txt (one token per line, the id is the line's index); options from tokenizer_config.json in the same
  // folder when present (do_lower_case, strip_accents, tokenize_chinese_chars, the special tokens' names).
  static WordPieceTokenizer from_vocab_txt(const std::string& path);

  std::vector<int64_t> encode_pieces(const std::string& utf8_text) const override;
  std::vector<int64_t> with_special_tokens(const std::vector<int64_t>& ids) const override;
  std::pair<size_t, size_t> special_token_counts() const override { return {before_.size(), after_.size()}; }
  std::string decode(const std::vector<int64_t>& ids) const override;
  const std::string& token(int64_t id) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(id_to_token_.size()); }
  int64_t id_of(const std::string& token) const override;
  bool is_special(int64_t id) const override;
  std::string token_bytes(int64_t id) const override;

 private:
  void finish();  // checks the names against the vocabulary, builds id -> token
  void encode_word(const std::u32string& word, std::vector<int64_t>& out) const;

  std::string path_;
  std::unordered_map<std::string, int64_t> vocab_;
  std::vector<std::string> id_to_token_;
  AddedTokens added_;
  BertNormalizerOptions normalizer_;
  bool normalize_ = true, pre_tokenize_ = true;
  std::string unk_ = "[UNK]", prefix_ = "##";
  int64_t unk_id_ = -1;
  size_t max_word_chars_ = 100;
  std::vector<int64_t> before_, after_;  // the template's special tokens around a single sequence
  std::string decoder_prefix_ = "##";
  bool cleanup_ = true;
};

}  // namespace ha::text
