#include "models/text/tokenizer.h"

#include <filesystem>

#include "models/io/json.h"
#include "models/io/read_file.h"
#include "models/text/bpe_tokenizer.h"
#include "models/text/wordpiece_tokenizer.h"
#include "tensor/error.h"

namespace ha::text {

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  if (path.size() >= 4 && path.compare(path.size() - 4, 4, ".txt") == 0)
    return std::make_unique<WordPieceTokenizer>(WordPieceTokenizer::from_vocab_txt(path));
  const json::Value root = json::parse(read_whole_file(path, size_t(1) << 30, "tokenizer file"), "'" + path + "'");
  HATTN_CHECK_INPUT(root.kind == json::Value::Kind::Object, "'", path, "': not a JSON object");
  const json::Value* model = root.find("model");
  const json::Value* type = model ? model->find("type") : nullptr;
  const std::string kind = type ? type->text : "";
  if (kind == "WordPiece") return std::make_unique<WordPieceTokenizer>(WordPieceTokenizer::from_json(root, path));
  HATTN_CHECK_INPUT(kind == "BPE", "'", path, "': model type '", kind,
                    "' is not supported (byte-level BPE or WordPiece)");
  return std::make_unique<BpeTokenizer>(BpeTokenizer::from_json(root, path));
}

std::string tokenizer_in_folder(const std::string& folder) {
  std::error_code ec;
  for (const char* name : {"/tokenizer.json", "/vocab.txt"})
    if (std::filesystem::exists(folder + name, ec)) return folder + name;
  return "";
}

}  // namespace ha::text
