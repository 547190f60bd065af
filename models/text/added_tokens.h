// The added tokens of a Hugging Face tokenizer.json (`added_tokens`: special tokens such as <|endoftext|> or
// [CLS], and extra vocabulary such as NeoX's whitespace runs). They are matched before the model runs: the
// ones marked `normalized: false` in the raw text, the others in the normalised text; leftmost match first,
// the longest at that place.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ha::json {
struct Value;
}

namespace ha::text {

struct AddedToken {
  std::string content;
  int64_t id;
  bool normalized;
  bool special;
};

class AddedTokens {
 public:
  // Reads `added_tokens` (absent: none); `path` names the file in errors. lstrip/rstrip/single_word are refused.
  static AddedTokens parse(const json::Value& root, const std::string& path);

  void add(AddedToken t) { tokens_.push_back(std::move(t)); }
  const std::vector<AddedToken>& all() const { return tokens_; }
  const AddedToken* find(const std::string& content) const;
  const AddedToken* find(int64_t id) const;

  // Splits `text` at the added tokens with this `normalized` flag; other pieces get id -1.
  void split(const std::string& text, bool normalized, std::vector<std::pair<std::string, int64_t>>& out) const;

 private:
  std::vector<AddedToken> tokens_;
};

}  // namespace ha::text
