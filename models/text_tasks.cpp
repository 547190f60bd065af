#include "models/text_tasks.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "models/io/json.h"
#include "models/io/read_file.h"
#include "models/recall_task.h"
#include "models/sentiment_task.h"
#include "models/text/bpe_tokenizer.h"
#include "models/text/unicode.h"
#include "tensor/error.h"

namespace ha {
namespace fs = std::filesystem;
namespace {

// The positions of a text's own tokens in `n` ids: all but the template's special tokens ([CLS], [SEP]).
std::vector<int64_t> text_positions(const text::Tokenizer& tk, size_t n) {
  const auto [before, after] = tk.special_token_counts();
  std::vector<int64_t> out;
  for (size_t i = before; i + after < n; ++i) out.push_back(static_cast<int64_t>(i));
  return out;
}

std::vector<std::string> review_files(const fs::path& dir) {
  std::error_code ec;
  HATTN_CHECK_INPUT(fs::is_directory(dir, ec), "'", dir.string(), "': no such folder (expected the aclImdb folder, ",
                    "with test/neg and test/pos)");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".txt") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());  // byte order of the names (the folder is the same for all)
  return files;
}

std::vector<TextItem> load_imdb(const std::string& root, const text::Tokenizer& tk, int64_t limit, int64_t max_tokens) {
  const std::vector<std::string> neg = review_files(fs::path(root) / "test" / "neg");
  const std::vector<std::string> pos = review_files(fs::path(root) / "test" / "pos");
  std::vector<std::pair<std::string, int64_t>> order;  // neg, pos, neg, pos, ..., the longer list's rest
  for (size_t i = 0; i < std::max(neg.size(), pos.size()); ++i) {
    if (i < neg.size()) order.emplace_back(neg[i], 0);
    if (i < pos.size()) order.emplace_back(pos[i], 1);
  }
  HATTN_CHECK_INPUT(!order.empty(), "'", root, "': no reviews in test/neg or test/pos");
  if (limit >= 0 && static_cast<int64_t>(order.size()) > limit) order.resize(limit);
  const int64_t specials = static_cast<int64_t>(tk.with_special_tokens({}).size());
  HATTN_CHECK_INPUT(max_tokens <= 0 || max_tokens > specials, "--max-tokens must exceed the ", specials,
                    " special tokens");
  std::vector<TextItem> items;
  for (const auto& [path, label] : order) {
    const std::string text = read_whole_file(path, size_t(16) << 20, "review");
    text::utf8_decode(text, "'" + path + "'");  // invalid UTF-8: an error naming the file
    std::vector<int64_t> pieces = tk.encode_pieces(text);
    if (max_tokens > 0 && static_cast<int64_t>(pieces.size()) > max_tokens - specials) pieces.resize(max_tokens - specials);
    TextItem it;
    it.name = fs::path(path).parent_path().filename().string() + "/" + fs::path(path).filename().string();
    it.ids = tk.with_special_tokens(pieces);
    HATTN_CHECK_INPUT(!pieces.empty(), "'", path, "': the review gives no tokens");
    it.perturbable = text_positions(tk, it.ids.size());
    it.correct = label;
    it.target = label;
    items.push_back(std::move(it));
  }
  return items;
}

const json::Value& member(const json::Value& v, const char* key, json::Value::Kind kind, const std::string& where) {
  const json::Value* m = v.kind == json::Value::Kind::Object ? v.find(key) : nullptr;
  HATTN_CHECK_INPUT(m && m->kind == kind, where, ": no '", key, "' of the expected type");
  return *m;
}

std::vector<TextItem> load_arc(const std::string& path, const text::Tokenizer& tk, int64_t limit) {
  HATTN_CHECK_INPUT(dynamic_cast<const text::BpeTokenizer*>(&tk) != nullptr, "'", path, "': ARC-Easy's stem ",
                    "positions need a byte-level BPE tokenizer (the language models'), whose tokens add up to byte offsets");
  std::ifstream f(path);
  HATTN_CHECK_INPUT(f.good(), "cannot open '", path, "'");
  const std::string prefix = "Question: ", suffix = "\nAnswer:";
  std::vector<TextItem> items;
  int64_t lineno = 0;
  for (std::string line; std::getline(f, line);) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (limit >= 0 && static_cast<int64_t>(items.size()) >= limit) break;
    const std::string where = str("'", path, "' line ", lineno);
    const json::Value q = json::parse(line, where);
    const json::Value& question = member(q, "question", json::Value::Kind::Object, where);
    const std::string& stem = member(question, "stem", json::Value::Kind::String, where).text;
    const json::Value& choices = member(question, "choices", json::Value::Kind::Array, where);
    const std::string& answer = member(q, "answerKey", json::Value::Kind::String, where).text;
    TextItem it;
    const json::Value* id = q.find("id");
    it.name = id && id->kind == json::Value::Kind::String ? id->text : str("line ", lineno);
    it.ids = tk.encode(prefix + stem + suffix);
    it.correct = -1;
    for (const json::Value& c : choices.items) {
      if (member(c, "label", json::Value::Kind::String, where).text == answer)
        it.correct = static_cast<int64_t>(it.continuations.size());
      it.continuations.push_back(tk.encode_pieces(" " + member(c, "text", json::Value::Kind::String, where).text));
      HATTN_CHECK_INPUT(!it.continuations.back().empty(), where, ": a choice gives no tokens");
    }
    HATTN_CHECK_INPUT(it.continuations.size() >= 2 && it.correct >= 0, where, ": needs two or more choices, one ",
                      "labelled with the answerKey '", answer, "'");
    // the stem's bytes in the (normalised) prompt: after the prefix, before the suffix (both ASCII)
    std::vector<size_t> start;
    size_t total = 0;
    for (int64_t t : it.ids) {
      const std::string b = tk.token_bytes(t);
      start.push_back(total + std::min(b.find_first_not_of(' '), b.size()));  // leading spaces trimmed
      total += b.size();
    }
    for (size_t i = 0; i < start.size(); ++i)
      if (start[i] >= prefix.size() && start[i] + suffix.size() < total) it.perturbable.push_back(static_cast<int64_t>(i));
    HATTN_CHECK_INPUT(!it.perturbable.empty(), where, ": the question's stem gives no tokens");
    it.target = it.continuations[it.correct][0];
    items.push_back(std::move(it));
  }
  HATTN_CHECK_INPUT(!items.empty() || limit == 0, "'", path, "' holds no questions");
  return items;
}

}  // namespace

bool is_arc_data(const std::string& path) {
  std::error_code ec;
  return path != "sentiment" && !fs::is_directory(path, ec);  // "recall" too: a language model's choices
}

std::vector<TextItem> load_text_items(const std::string& path, const text::Tokenizer& tokenizer, int64_t limit,
                                      int64_t max_tokens) {
  if (path == "recall") {  // the recall task's held-out samples as ten-choice questions (the digits)
    std::vector<TextItem> items;
    for (int64_t i = 0; i < (limit < 0 ? 1000 : limit); ++i) {
      const RecallSample s = recall_sample(kRecallEvalSeed, 1000000 + i, 8);
      TextItem it;
      it.name = str("recall/", i);
      it.ids = s.ids;
      for (int64_t d = 0; d < 10; ++d) it.continuations.push_back({'0' + d});
      it.correct = s.answer - '0';
      it.target = s.answer;
      for (int64_t j = 0; j + 2 < static_cast<int64_t>(s.ids.size()); ++j) it.perturbable.push_back(j);  // the pairs
      items.push_back(std::move(it));
    }
    return items;
  }
  if (path == "sentiment") {  // the synthetic set's held-out reviews, read like IMDb's
    std::vector<TextItem> items;
    for (int64_t i = 0; i < (limit < 0 ? 1000 : limit); ++i) {
      const SentimentSample s = sentiment_sample(kSentimentEvalSeedOffset, i);
      TextItem it;
      it.name = str("sentiment/", i);
      std::vector<int64_t> pieces = tokenizer.encode_pieces(s.text);
      const int64_t specials = static_cast<int64_t>(tokenizer.with_special_tokens({}).size());
      if (max_tokens > specials && static_cast<int64_t>(pieces.size()) > max_tokens - specials)
        pieces.resize(max_tokens - specials);
      it.ids = tokenizer.with_special_tokens(pieces);
      it.perturbable = text_positions(tokenizer, it.ids.size());
      it.correct = it.target = s.label;
      items.push_back(std::move(it));
    }
    return items;
  }
  std::error_code ec;
  HATTN_CHECK_INPUT(fs::exists(path, ec), "'", path, "': no such file or folder (expected the aclImdb folder or ",
                    "ARC-Easy's jsonl)");
  return is_arc_data(path) ? load_arc(path, tokenizer, limit) : load_imdb(path, tokenizer, limit, max_tokens);
}

}  // namespace ha
