#include "models/text/added_tokens.h"

#include "models/io/json.h"
#include "tensor/error.h"

namespace ha::text {
namespace {

bool flag(const json::Value& v, const char* key, bool fallback) {
  const json::Value* m = v.find(key);
  return m && m->kind == json::Value::Kind::Bool ? m->boolean : fallback;
}

}  // namespace

AddedTokens AddedTokens::parse(const json::Value& root, const std::string& path) {
  AddedTokens out;
  const json::Value* added = root.find("added_tokens");
  if (!added || added->kind != json::Value::Kind::Array) return out;
  for (const json::Value& a : added->items) {
    const json::Value* content = a.find("content");
    const json::Value* id = a.find("id");
    HATTN_CHECK_INPUT(content && content->kind == json::Value::Kind::String && !content->text.empty() && id &&
                          id->kind == json::Value::Kind::Number && id->is_integer() && id->as_int() >= 0 &&
                          id->as_int() < (int64_t(1) << 24),
                      "'", path, "': an added token has no valid content and id");
    HATTN_CHECK_INPUT(!flag(a, "lstrip", false) && !flag(a, "rstrip", false) && !flag(a, "single_word", false), "'",
                      path, "': added token '", content->text, "' uses lstrip/rstrip/single_word (not supported)");
    const bool special = flag(a, "special", false);
    out.add({content->text, id->as_int(), flag(a, "normalized", !special), special, content->text});
  }
  return out;
}

const AddedToken* AddedTokens::find(const std::string& content) const {
  for (const AddedToken& a : tokens_)
    if (a.content == content) return &a;
  return nullptr;
}

const AddedToken* AddedTokens::find(int64_t id) const {
  for (const AddedToken& a : tokens_)
    if (a.id == id) return &a;
  return nullptr;
}

void AddedTokens::split(const std::string& text, bool normalized,
                        std::vector<std::pair<std::string, int64_t>>& out) const {
  size_t start = 0, i = 0;
  while (i < text.size()) {
    const AddedToken* best = nullptr;
    for (const AddedToken& a : tokens_)
      if (a.normalized == normalized && !a.match.empty() && a.match.size() > (best ? best->match.size() : 0) &&
          text.compare(i, a.match.size(), a.match) == 0)
        best = &a;
    if (!best) {
      ++i;
      continue;
    }
    if (i > start) out.emplace_back(text.substr(start, i - start), -1);
    out.emplace_back(best->content, best->id);
    i += best->match.size();
    start = i;
  }
  if (start < text.size()) out.emplace_back(text.substr(start), -1);
}

}  // namespace ha::text
