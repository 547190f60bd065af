#include "models/recall_task.h"

#include "models/io/json.h"
#include "models/text/bpe_tokenizer.h"
#include "models/text/unicode.h"
#include "tensor/error.h"
#include "tensor/random.h"

namespace ha {

std::string RecallSample::text() const {
  std::string s;
  for (int64_t id : ids) s += static_cast<char>(id);
  return s;
}

RecallSample recall_sample(uint64_t seed, int64_t index, int64_t pairs) {
  HATTN_CHECK(pairs >= 1 && pairs <= 26, "recall task: ", pairs, " pairs (1..26 distinct keys)");
  Generator g(seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(index) + 1);
  std::vector<int64_t> keys(26);
  for (int64_t i = 0; i < 26; ++i) keys[i] = 'a' + i;
  for (int64_t i = 0; i < pairs; ++i) std::swap(keys[i], keys[i + static_cast<int64_t>(g.next_u64() % (26 - i))]);
  RecallSample s;
  for (int64_t i = 0; i < pairs; ++i) {
    s.ids.push_back(keys[i]);
    s.ids.push_back('0' + static_cast<int64_t>(g.next_u64() % 10));
  }
  const int64_t q = static_cast<int64_t>(g.next_u64() % pairs);
  s.ids.push_back('|');
  s.ids.push_back(keys[q]);
  s.answer = s.ids[2 * q + 1];
  s.answer_position = 2 * q + 1;
  return s;
}

std::string byte_tokenizer_json() {
  std::string vocab;
  for (int b = 0; b < 256; ++b) {
    std::string ch;
    text::utf8_append(ch, text::byte_to_char()[b]);
    vocab += (b ? ", " : "") + json::quote(ch) + ": " + std::to_string(b);
  }
  const std::string byte_level =
      "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true}";
  return "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null, \"added_tokens\": [], \"normalizer\": null,\n"
         " \"pre_tokenizer\": " + byte_level + ",\n \"post_processor\": null, \"decoder\": " + byte_level + ",\n"
         " \"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, \"fuse_unk\": false, "
         "\"byte_fallback\": false, \"vocab\": {" + vocab + "}, \"merges\": []}}\n";
}

}  // namespace ha
