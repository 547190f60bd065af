#include "models/text/bpe_tokenizer.h"

#include <algorithm>
#include <climits>

#include "models/io/json.h"
#include "models/io/read_file.h"
#include "models/text/pretokenize.h"
#include "models/text/unicode.h"
#include "tensor/error.h"

namespace ha::text {

const std::vector<char32_t>& byte_to_char() {
  static const std::vector<char32_t> table = [] {
    std::vector<char32_t> t(256, 0);
    std::vector<bool> printable(256, false);
    for (int b = '!'; b <= '~'; ++b) printable[b] = true;
    for (int b = 0xA1; b <= 0xAC; ++b) printable[b] = true;
    for (int b = 0xAE; b <= 0xFF; ++b) printable[b] = true;
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) t[b] = printable[b] ? char32_t(b) : next++;
    return t;
  }();
  return table;
}

int byte_of_char(char32_t c) {
  static const std::vector<int> inverse = [] {
    std::vector<int> inv(512, -1);
    const std::vector<char32_t>& t = byte_to_char();
    for (int b = 0; b < 256; ++b) inv[t[b]] = b;
    return inv;
  }();
  return c < inverse.size() ? inverse[c] : -1;
}

namespace {

using json::Value;

const Value& member(const Value& v, const char* key, Value::Kind kind, const std::string& path, const char* where) {
  const Value* m = v.find(key);
  HATTN_CHECK_INPUT(m && m->kind == kind, "'", path, "': ", where, " has no '", key, "' of the expected type");
  return *m;
}

bool flag(const Value* v, const char* key, bool fallback) {
  const Value* m = v ? v->find(key) : nullptr;
  return m && m->kind == Value::Kind::Bool ? m->boolean : fallback;
}

}  // namespace

BpeTokenizer BpeTokenizer::load(const std::string& path) {
  const Value root = json::parse(read_whole_file(path, size_t(1) << 30, "tokenizer file"), "'" + path + "'");
  HATTN_CHECK_INPUT(root.kind == Value::Kind::Object, "'", path, "': not a JSON object");
  return from_json(root, path);
}

BpeTokenizer BpeTokenizer::from_json(const Value& root, const std::string& path) {
  BpeTokenizer tk;
  tk.path_ = path;
  const Value& model = member(root, "model", Value::Kind::Object, path, "the file");
  const Value* type = model.find("type");
  HATTN_CHECK_INPUT(type && type->text == "BPE", "'", path, "': model type '", type ? type->text : "",
                    "' is not supported (byte-level BPE only)");
  // normaliser: NFC, none, or a Sequence of NFCs
  if (const Value* norm = root.find("normalizer"); norm && norm->kind == Value::Kind::Object) {
    std::vector<const Value*> parts{norm};
    if (const Value* t = norm->find("type"); t && t->text == "Sequence") {
      parts.clear();
      if (const Value* list = norm->find("normalizers"))
        for (const Value& n : list->items) parts.push_back(&n);
    }
    for (const Value* n : parts) {
      const Value* nt = n->find("type");
      HATTN_CHECK_INPUT(nt && nt->text == "NFC", "'", path, "': normalizer '", nt ? nt->text : "?",
                        "' is not supported (NFC or none)");
      tk.nfc_ = true;
    }
  }
  const Value* pre = root.find("pre_tokenizer");
  HATTN_CHECK_INPUT(pre && pre->kind == Value::Kind::Object && pre->find("type") &&
                        pre->find("type")->text == "ByteLevel",
                    "'", path, "': the pre-tokenizer is not ByteLevel (only byte-level BPE tokenizers are supported)");
  HATTN_CHECK_INPUT(flag(pre, "use_regex", true), "'", path, "': ByteLevel without its split pattern is not supported");
  tk.add_prefix_space_ = flag(pre, "add_prefix_space", false);
  const Value& vocab = member(model, "vocab", Value::Kind::Object, path, "model");
  int64_t max_id = -1;
  for (const auto& [tok, id] : vocab.members) {
    HATTN_CHECK_INPUT(id.kind == Value::Kind::Number && id.is_integer() && id.as_int() < (int64_t(1) << 24), "'", path,
                      "': vocabulary entry '", tok, "' has no valid id");
    tk.vocab_[tok] = id.as_int();
    max_id = std::max(max_id, id.as_int());
  }
  tk.added_ = AddedTokens::parse(root, path);
  if (tk.nfc_) tk.added_.normalize_contents([](const std::string& c) { return utf8_encode(tokenizers_nfc(utf8_decode(c))); });
  for (const AddedToken& a : tk.added_.all()) max_id = std::max(max_id, a.id);
  tk.id_to_token_.assign(max_id + 1, std::string());
  for (const auto& [tok, id] : tk.vocab_) tk.id_to_token_[id] = tok;
  for (const AddedToken& a : tk.added_.all()) tk.id_to_token_[a.id] = a.content;
  const Value& merges = member(model, "merges", Value::Kind::Array, path, "model");
  for (size_t r = 0; r < merges.items.size(); ++r) {
    const Value& m = merges.items[r];
    std::string pair;
    if (m.kind == Value::Kind::String) pair = m.text;  // "a b"
    else if (m.kind == Value::Kind::Array && m.items.size() == 2) pair = m.items[0].text + " " + m.items[1].text;
    HATTN_CHECK_INPUT(!pair.empty() && pair.find(' ') != std::string::npos, "'", path, "': merge ", r, " is malformed");
    tk.merge_rank_.emplace(pair, static_cast<int64_t>(r));
  }
  return tk;
}

int64_t BpeTokenizer::id_of(const std::string& token) const {
  auto it = vocab_.find(token);
  if (it != vocab_.end()) return it->second;
  const AddedToken* a = added_.find(token);
  return a ? a->id : -1;
}

bool BpeTokenizer::is_special(int64_t id) const {
  const AddedToken* a = added_.find(id);
  return a && a->special;
}

const std::string& BpeTokenizer::token(int64_t id) const {
  HATTN_CHECK_INPUT(id >= 0 && id < vocab_size() && !id_to_token_[id].empty(), "token id ", id,
                    " is not in the tokenizer's vocabulary ('", path_, "')");
  return id_to_token_[id];
}

void BpeTokenizer::encode_word(const std::string& chars, std::vector<int64_t>& out) const {
  if (auto it = vocab_.find(chars); it != vocab_.end()) {  // most words are one token
    out.push_back(it->second);
    return;
  }
  // symbols = the word's characters (UTF-8 strings of one code point each)
  std::vector<std::string> sym;
  for (size_t i = 0; i < chars.size();) {
    size_t n = 1;
    while (i + n < chars.size() && (static_cast<unsigned char>(chars[i + n]) & 0xC0) == 0x80) ++n;
    sym.push_back(chars.substr(i, n));
    i += n;
  }
  while (sym.size() > 1) {
    int64_t best = INT64_MAX;
    size_t at = 0;
    for (size_t k = 0; k + 1 < sym.size(); ++k) {
      auto it = merge_rank_.find(sym[k] + " " + sym[k + 1]);
      if (it != merge_rank_.end() && it->second < best) best = it->second, at = k;
    }
    if (best == INT64_MAX) break;
    // merge every occurrence of this pair, left to right (as the rank is the same, order does not matter
    // beyond overlaps, which left-to-right resolves as the reference does)
    const std::string left = sym[at], right = sym[at + 1];
    std::vector<std::string> next;
    for (size_t k = 0; k < sym.size(); ++k) {
      if (k + 1 < sym.size() && sym[k] == left && sym[k + 1] == right) {
        next.push_back(left + right);
        ++k;
      } else {
        next.push_back(sym[k]);
      }
    }
    sym.swap(next);
  }
  for (const std::string& s : sym) {
    auto it = vocab_.find(s);
    HATTN_CHECK_INPUT(it != vocab_.end(), "'", path_, "': the piece '", s, "' is not in the vocabulary (the file's ",
                      "merges and vocabulary disagree)");
    out.push_back(it->second);
  }
}

std::vector<int64_t> BpeTokenizer::encode_pieces(const std::string& text) const {
  utf8_decode(text, "text to tokenize");  // refuse invalid UTF-8 with its byte offset
  std::vector<int64_t> ids;
  std::vector<std::pair<std::string, int64_t>> raw;
  added_.split(text, false, raw);
  const std::vector<char32_t>& table = byte_to_char();
  for (const auto& [piece, id] : raw) {
    if (id >= 0) {
      ids.push_back(id);
      continue;
    }
    const std::string normal = nfc_ ? utf8_encode(tokenizers_nfc(utf8_decode(piece))) : piece;
    std::vector<std::pair<std::string, int64_t>> parts;
    added_.split(normal, true, parts);
    for (const auto& [part, pid] : parts) {
      if (pid >= 0) {
        ids.push_back(pid);
        continue;
      }
      std::u32string s = utf8_decode(part);
      if (add_prefix_space_ && !s.empty() && s[0] != U' ') s.insert(s.begin(), U' ');
      for (const auto& [b, e] : split_words(s)) {
        const std::string bytes = utf8_encode(s.substr(b, e - b));
        std::string chars;
        for (unsigned char c : bytes) utf8_append(chars, table[c]);
        encode_word(chars, ids);
      }
    }
  }
  return ids;
}

// A token with a character outside GPT-2's table (an added token such as a whitespace run) stands for its own UTF-8.
std::string BpeTokenizer::token_bytes(int64_t id) const {
  const std::string& tok = token(id);
  std::string mapped;
  for (char32_t c : utf8_decode(tok, "token")) {
    const int b = byte_of_char(c);
    if (b < 0) return tok;
    mapped += static_cast<char>(b);
  }
  return mapped;
}

std::string BpeTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string bytes;
  for (int64_t id : ids) bytes += token_bytes(id);
  return utf8_sanitize(bytes);
}

}  // namespace ha::text
