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
  std::string match;  // what is looked for: the content, normalised as the text is when `normalized`
};

class AddedTokens {
 public:
  // Reads `added_tokens` (absent: none); `path` names the file in errors. lstrip/rstrip/single_word are refused.
  static AddedTokens parse(const json::Value& root, const std::string& path);

  void add(AddedToken t) {
    if (t.match.empty()) t.match = t.content;
    tokens_.push_back(std::move(t));
  }
  // The tokens marked `normalized` are matched in normalised text, so their content is normalised the same way
  // (the `tokenizers` library does this when it loads them).
  template <class Normalize>
  void normalize_contents(Normalize normalize) {
    for (AddedToken& t : tokens_)
      if (t.normalized) t.match = normalize(t.content);
  }
  const std::vector<AddedToken>& all() const { return tokens_; }
  const AddedToken* find(const std::string& content) const;
  const AddedToken* find(int64_t id) const;

  // Splits `text` at the added tokens with this `normalized` flag; other pieces get id -1.
  void split(const std::string& text, bool normalized, std::vector<std::pair<std::string, int64_t>>& out) const;

 private:
  std::vector<AddedToken> tokens_;
};

}  // namespace ha::text
