// The byte-level BPE tokenizer of a Hugging Face tokenizer.json, as the released Mamba language models use it
// (GPT-NeoX's: NFC normaliser, ByteLevel pre-tokeniser with its split pattern, BPE merges by rank, added tokens
// such as <|endoftext|> and whitespace runs). Encoding, step by step, as the `tokenizers` library does it:
//   1. added tokens that are not normalised are matched in the raw text (leftmost, then longest);
//   2. the rest is NFC-normalised (when the file asks for it) and normalised added tokens are matched in it;
//   3. every remaining piece is split by the pattern
//        's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//      (a hand-written scanner: models/text/pretokenize.h), each part's bytes mapped to printable characters
//      (GPT-2's byte-to-unicode table), then merged pair by pair, lowest merge rank first.
// Decoding joins the tokens, maps the characters back to bytes (a token with a character outside the table,
// such as an added whitespace token, contributes its own UTF-8) and replaces invalid UTF-8 with U+FFFD.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "models/text/added_tokens.h"
#include "models/text/tokenizer.h"

namespace ha::json {
struct Value;
}

namespace ha::text {

class BpeTokenizer : public Tokenizer {
 public:
  static BpeTokenizer load(const std::string& tokenizer_json_path);
  static BpeTokenizer from_json(const json::Value& root, const std::string& path);  // a parsed tokenizer.json

  std::vector<int64_t> encode_pieces(const std::string& utf8_text) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  const std::string& token(int64_t id) const override;  // the vocabulary string, e.g. "Ġthe"
  int64_t vocab_size() const override { return static_cast<int64_t>(id_to_token_.size()); }
  int64_t id_of(const std::string& token) const override;
  bool is_special(int64_t id) const override;
  std::string token_bytes(int64_t id) const override;

 private:
  void encode_word(const std::string& byte_chars, std::vector<int64_t>& out) const;

  std::string path_;
  std::unordered_map<std::string, int64_t> vocab_;
  std::vector<std::string> id_to_token_;
  std::unordered_map<std::string, int64_t> merge_rank_;  // "left right" -> rank
  AddedTokens added_;
  bool nfc_ = false, add_prefix_space_ = false;
};

// GPT-2's table: each byte to a printable code point (printable Latin-1 bytes to themselves, the others to
// U+0100 upwards), and back.
const std::vector<char32_t>& byte_to_char();
int byte_of_char(char32_t c);  // -1 when c is not in the table

}  // namespace ha::text
