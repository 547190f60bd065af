// What every tokenizer offers (byte-level BPE for GPT-NeoX and Mamba, WordPiece for BERT), and one loader that
// tells them apart: a tokenizer.json by its model type, or a BERT vocab.txt (with tokenizer_config.json beside it
// when there is one).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ha::text {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // The text's tokens without the special tokens a model wraps them in.
  virtual std::vector<int64_t> encode_pieces(const std::string& utf8_text) const = 0;
  // The file's post-processing for a single sequence (BERT: [CLS] ids [SEP]; byte-level BPE: none).
  virtual std::vector<int64_t> with_special_tokens(const std::vector<int64_t>& ids) const { return ids; }
  // How many tokens with_special_tokens puts before and after a sequence (BERT: 1 and 1).
  virtual std::pair<size_t, size_t> special_token_counts() const { return {0, 0}; }
  std::vector<int64_t> encode(const std::string& utf8_text) const { return with_special_tokens(encode_pieces(utf8_text)); }
  // As the `tokenizers` library's decode with skip_special_tokens=False.
  virtual std::string decode(const std::vector<int64_t>& ids) const = 0;
  virtual const std::string& token(int64_t id) const = 0;  // the vocabulary string; InputError when absent
  virtual int64_t vocab_size() const = 0;
  virtual int64_t id_of(const std::string& token) const = 0;  // -1 when absent
  virtual bool is_special(int64_t id) const = 0;              // an added token marked special
  // The bytes a token stands for in the normalised text (byte-level BPE: its bytes, a character's fragment
  // included, so that they add up to byte offsets; WordPiece: the piece without its continuation prefix, which
  // drops the spaces between words: no offsets).
  virtual std::string token_bytes(int64_t id) const = 0;
};

// tokenizer.json (model type BPE with a ByteLevel pre-tokeniser, or WordPiece) or vocab.txt.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);
// A model folder's tokenizer file: tokenizer.json, else vocab.txt (BERT checkpoints may ship only that); "" when
// it has neither.
std::string tokenizer_in_folder(const std::string& folder);

}  // namespace ha::text
