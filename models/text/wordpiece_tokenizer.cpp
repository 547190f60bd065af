#include "models/text/wordpiece_tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "models/io/json.h"
#include "models/io/read_file.h"
#include "models/text/unicode.h"
#include "tensor/error.h"

namespace ha::text {
namespace {

using json::Value;

bool flag(const Value* v, const char* key, bool fallback) {
  const Value* m = v ? v->find(key) : nullptr;
  return m && m->kind == Value::Kind::Bool ? m->boolean : fallback;
}

std::string text_of(const Value* v, const char* key, const std::string& fallback) {
  const Value* m = v ? v->find(key) : nullptr;
  if (m && m->kind == Value::Kind::String) return m->text;
  if (m && m->kind == Value::Kind::Object) return text_of(m, "content", fallback);  // {"content": "[UNK]", ...}
  return fallback;
}

const char* type_of(const Value* v) {
  const Value* t = v && v->kind == Value::Kind::Object ? v->find("type") : nullptr;
  return t && t->kind == Value::Kind::String ? t->text.c_str() : "";
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
}

// The `tokenizers` library's decoder cleanup, applied to each token as it is appended.
void cleanup(std::string& t) {
  static const char* const kRules[][2] = {{" .", "."},       {" ?", "?"},   {" !", "!"},   {" ,", ","},
                                          {" ' ", "'"},      {" n't", "n't"}, {" 'm", "'m"}, {" do not", " don't"},
                                          {" 's", "'s"},     {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& r : kRules) replace_all(t, r[0], r[1]);
}

}  // namespace

WordPieceTokenizer WordPieceTokenizer::from_json(const Value& root, const std::string& path) {
  WordPieceTokenizer tk;
  tk.path_ = path;
  const Value* model = root.find("model");
  HATTN_CHECK_INPUT(std::string(type_of(model)) == "WordPiece", "'", path, "': not a WordPiece tokenizer");
  const Value* vocab = model->find("vocab");
  HATTN_CHECK_INPUT(vocab && vocab->kind == Value::Kind::Object, "'", path, "': model has no 'vocab' object");
  for (const auto& [tok, id] : vocab->members) {
    HATTN_CHECK_INPUT(id.kind == Value::Kind::Number && id.is_integer() && id.as_int() < (int64_t(1) << 24), "'",
                      path, "': vocabulary entry '", tok, "' has no valid id");
    tk.vocab_[tok] = id.as_int();
  }
  tk.unk_ = text_of(model, "unk_token", "[UNK]");
  tk.prefix_ = text_of(model, "continuing_subword_prefix", "##");
  if (const Value* m = model->find("max_input_chars_per_word"); m && m->kind == Value::Kind::Number)
    tk.max_word_chars_ = static_cast<size_t>(m->as_int());

  const Value* norm = root.find("normalizer");
  tk.normalize_ = norm && norm->kind == Value::Kind::Object;
  if (tk.normalize_) {
    HATTN_CHECK_INPUT(std::string(type_of(norm)) == "BertNormalizer", "'", path, "': normalizer '", type_of(norm),
                      "' is not supported with WordPiece (BertNormalizer or none)");
    tk.normalizer_.clean_text = flag(norm, "clean_text", true);
    tk.normalizer_.handle_chinese_chars = flag(norm, "handle_chinese_chars", true);
    tk.normalizer_.lowercase = flag(norm, "lowercase", true);
    tk.normalizer_.strip_accents = flag(norm, "strip_accents", tk.normalizer_.lowercase);  // null: as lowercase
  }
  const Value* pre = root.find("pre_tokenizer");
  tk.pre_tokenize_ = pre && pre->kind == Value::Kind::Object;
  HATTN_CHECK_INPUT(!tk.pre_tokenize_ || std::string(type_of(pre)) == "BertPreTokenizer", "'", path,
                    "': pre-tokenizer '", type_of(pre), "' is not supported with WordPiece (BertPreTokenizer or none)");
  tk.added_ = AddedTokens::parse(root, path);
  if (tk.normalize_) {
    const BertNormalizerOptions o = tk.normalizer_;
    tk.added_.normalize_contents([o](const std::string& c) { return utf8_encode(bert_normalize(utf8_decode(c), o)); });
  }
  for (const AddedToken& a : tk.added_.all()) {
    const auto [it, inserted] = tk.vocab_.emplace(a.content, a.id);
    HATTN_CHECK_INPUT(inserted || it->second == a.id, "'", path, "': added token '", a.content, "' has id ", a.id,
                      " but the vocabulary gives it ", it->second);
  }

  const Value* post = root.find("post_processor");
  const std::string post_type = type_of(post);
  auto special_id = [&](const std::string& name) {
    const int64_t id = tk.id_of(name);
    HATTN_CHECK_INPUT(id >= 0, "'", path, "': the post-processor's token '", name, "' is not in the vocabulary");
    return id;
  };
  if (post_type == "BertProcessing") {
    for (const char* key : {"cls", "sep"}) {
      const Value* p = post->find(key);
      HATTN_CHECK_INPUT(p && p->kind == Value::Kind::Array && p->items.size() == 2, "'", path,
                        "': BertProcessing has no '", key, "' pair");
      (std::string(key) == "cls" ? tk.before_ : tk.after_).push_back(special_id(p->items[0].text));
    }
  } else if (post_type == "TemplateProcessing") {
    const Value* single = post->find("single");
    const Value* specials = post->find("special_tokens");
    HATTN_CHECK_INPUT(single && single->kind == Value::Kind::Array, "'", path, "': TemplateProcessing has no 'single'");
    bool seen_sequence = false;
    for (const Value& piece : single->items) {
      if (piece.find("Sequence")) {
        seen_sequence = true;
        continue;
      }
      const Value* sp = piece.find("SpecialToken");
      HATTN_CHECK_INPUT(sp, "'", path, "': a template piece is neither a Sequence nor a SpecialToken");
      const std::string name = text_of(sp, "id", "");
      const Value* entry = specials ? specials->find(name) : nullptr;
      const Value* ids = entry ? entry->find("ids") : nullptr;
      HATTN_CHECK_INPUT(ids && ids->kind == Value::Kind::Array, "'", path, "': template token '", name,
                        "' has no ids in 'special_tokens'");
      for (const Value& id : ids->items) (seen_sequence ? tk.after_ : tk.before_).push_back(id.as_int());
    }
  } else {
    HATTN_CHECK_INPUT(post_type.empty(), "'", path, "': post-processor '", post_type,
                      "' is not supported with WordPiece (TemplateProcessing, BertProcessing or none)");
  }
  const Value* dec = root.find("decoder");
  if (dec && dec->kind == Value::Kind::Object) {
    HATTN_CHECK_INPUT(std::string(type_of(dec)) == "WordPiece", "'", path, "': decoder '", type_of(dec),
                      "' is not supported with WordPiece");
    tk.decoder_prefix_ = text_of(dec, "prefix", "##");
    tk.cleanup_ = flag(dec, "cleanup", true);
  } else {
    tk.decoder_prefix_.clear();  // no decoder: tokens joined by spaces
    tk.cleanup_ = false;
  }
  tk.finish();
  return tk;
}

WordPieceTokenizer WordPieceTokenizer::from_vocab_txt(const std::string& path) {
  WordPieceTokenizer tk;
  tk.path_ = path;
  const std::string text = read_whole_file(path, size_t(256) << 20, "vocabulary file");
  utf8_decode(text, "'" + path + "'");
  int64_t id = 0;
  for (size_t start = 0; start < text.size(); ++id) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    size_t stop = end;
    if (stop > start && text[stop - 1] == '\r') --stop;  // CRLF files read as Python's universal newlines do
    tk.vocab_[text.substr(start, stop - start)] = id;  // a repeated token keeps its last id, as transformers does
    start = end + 1;
  }
  const std::filesystem::path config = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
  Value cfg;
  if (std::filesystem::exists(config))
    cfg = json::parse(read_whole_file(config.string(), size_t(16) << 20, "tokenizer config"), "'" + config.string() + "'");
  const Value* c = cfg.kind == Value::Kind::Object ? &cfg : nullptr;
  tk.normalizer_.lowercase = flag(c, "do_lower_case", true);
  tk.normalizer_.strip_accents = flag(c, "strip_accents", tk.normalizer_.lowercase);
  tk.normalizer_.handle_chinese_chars = flag(c, "tokenize_chinese_chars", true);
  tk.unk_ = text_of(c, "unk_token", "[UNK]");
  for (const char* key : {"pad_token", "unk_token", "cls_token", "sep_token", "mask_token"}) {
    static const std::map<std::string, std::string> kDefault = {{"pad_token", "[PAD]"},   {"unk_token", "[UNK]"},
                                                                {"cls_token", "[CLS]"},   {"sep_token", "[SEP]"},
                                                                {"mask_token", "[MASK]"}};
    const std::string name = text_of(c, key, kDefault.at(key));
    if (auto it = tk.vocab_.find(name); it != tk.vocab_.end() && !tk.added_.find(name))
      tk.added_.add({name, it->second, false, true, name});
  }
  const int64_t cls = tk.id_of(text_of(c, "cls_token", "[CLS]")), sep = tk.id_of(text_of(c, "sep_token", "[SEP]"));
  HATTN_CHECK_INPUT(cls >= 0 && sep >= 0, "'", path, "': the vocabulary has no [CLS] or [SEP] token");
  tk.before_ = {cls};
  tk.after_ = {sep};
  tk.finish();
  return tk;
}

void WordPieceTokenizer::finish() {
  int64_t max_id = -1;
  for (const auto& [tok, id] : vocab_) max_id = std::max(max_id, id);
  id_to_token_.assign(max_id + 1, std::string());
  for (const auto& [tok, id] : vocab_) id_to_token_[id] = tok;
  unk_id_ = id_of(unk_);
  HATTN_CHECK_INPUT(unk_id_ >= 0, "'", path_, "': the unknown token '", unk_, "' is not in the vocabulary");
  for (const std::vector<int64_t>* ids : {&before_, &after_})
    for (int64_t id : *ids)
      HATTN_CHECK_INPUT(id >= 0 && id <= max_id && id_of(id_to_token_[id]) == id, "'", path_,
                        "': the post-processor's token id ", id, " is not in the vocabulary");
}

int64_t WordPieceTokenizer::id_of(const std::string& token) const {
  auto it = vocab_.find(token);
  return it != vocab_.end() ? it->second : -1;
}

bool WordPieceTokenizer::is_special(int64_t id) const {
  const AddedToken* a = added_.find(id);
  return a && a->special;
}

const std::string& WordPieceTokenizer::token(int64_t id) const {
  HATTN_CHECK_INPUT(id >= 0 && id < vocab_size() && id_of(id_to_token_[id]) == id, "token id ", id,
                    " is not in the tokenizer's vocabulary ('", path_, "')");
  return id_to_token_[id];
}

std::string WordPieceTokenizer::token_bytes(int64_t id) const {
  const std::string& t = token(id);
  return t.compare(0, prefix_.size(), prefix_) == 0 && !added_.find(id) ? t.substr(prefix_.size()) : t;
}

void WordPieceTokenizer::encode_word(const std::u32string& word, std::vector<int64_t>& out) const {
  if (word.size() > max_word_chars_) {
    out.push_back(unk_id_);
    return;
  }
  std::vector<size_t> at(word.size() + 1, 0);  // byte offset of each character
  std::string bytes;
  for (size_t i = 0; i < word.size(); ++i) {
    at[i] = bytes.size();
    utf8_append(bytes, word[i]);
  }
  at[word.size()] = bytes.size();
  std::vector<int64_t> pieces;
  for (size_t start = 0; start < word.size();) {
    int64_t found = -1;
    size_t end = word.size();
    for (; end > start; --end) {
      std::string piece = bytes.substr(at[start], at[end] - at[start]);
      if (start > 0) piece = prefix_ + piece;
      if ((found = id_of(piece)) >= 0) break;
    }
    if (found < 0) {
      out.push_back(unk_id_);
      return;
    }
    pieces.push_back(found);
    start = end;
  }
  out.insert(out.end(), pieces.begin(), pieces.end());
}

std::vector<int64_t> WordPieceTokenizer::encode_pieces(const std::string& text) const {
  utf8_decode(text, "text to tokenize");  // refuse invalid UTF-8 with its byte offset
  std::vector<int64_t> ids;
  std::vector<std::pair<std::string, int64_t>> raw;
  added_.split(text, false, raw);
  for (const auto& [piece, id] : raw) {
    if (id >= 0) {
      ids.push_back(id);
      continue;
    }
    const std::u32string u = utf8_decode(piece);
    std::vector<std::pair<std::string, int64_t>> parts;
    added_.split(utf8_encode(normalize_ ? bert_normalize(u, normalizer_) : u), true, parts);
    for (const auto& [part, pid] : parts) {
      if (pid >= 0) {
        ids.push_back(pid);
        continue;
      }
      const std::u32string s = utf8_decode(part);
      if (!pre_tokenize_) {
        if (!s.empty()) encode_word(s, ids);
        continue;
      }
      for (const auto& [b, e] : bert_pre_tokenize(s)) encode_word(s.substr(b, e - b), ids);
    }
  }
  return ids;
}

std::vector<int64_t> WordPieceTokenizer::with_special_tokens(const std::vector<int64_t>& ids) const {
  std::vector<int64_t> out(before_);
  out.insert(out.end(), ids.begin(), ids.end());
  out.insert(out.end(), after_.begin(), after_.end());
  return out;
}

std::string WordPieceTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    std::string t = token(ids[i]);
    if (i > 0) {
      if (!decoder_prefix_.empty() && t.compare(0, decoder_prefix_.size(), decoder_prefix_) == 0)
        t.erase(0, decoder_prefix_.size());
      else
        t.insert(0, " ");
    }
    if (cleanup_) cleanup(t);
    out += t;
  }
  return out;
}

}  // namespace ha::text
