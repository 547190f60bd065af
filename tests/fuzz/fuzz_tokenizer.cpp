// Fuzz target: tokenizer.json (the JSON reader, then the vocabulary, merges, added tokens and normaliser that the
// byte-level BPE builds from it), and, when it loads, encoding and decoding with it.
#include "models/text/bpe_tokenizer.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = ha::fuzz::write_input(data, size, "_tokenizer.json");
  ha::fuzz::expect_clean([&] {
    const ha::text::BpeTokenizer t = ha::text::BpeTokenizer::load(path);
    // text that meets added tokens, NFC, the split pattern, merges and bytes outside the vocabulary
    const std::vector<int64_t> ids = t.encode("Hello, world! <|endoftext|> e\xcc\x81t\xc3\xa9 \xf0\x9f\x98\x80 12345  x\n");
    t.decode(ids);
    t.decode({0, t.vocab_size() - 1, t.vocab_size(), -1});
  });
  return 0;
}
