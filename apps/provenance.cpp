#include "apps/provenance.h"

#include <filesystem>

#include "models/io/json.h"
#include "models/io/read_file.h"
#include "models/io/sha256.h"
#include "models/load_lm.h"
#include "tensor/atomic_write.h"
#include "tensor/error.h"
#include "tensor/version.h"

namespace ha::app {
namespace fs = std::filesystem;
namespace {

std::string& command_line() {
  static std::string line;
  return line;
}

std::string program_json() {
  return str("\"hattn\": ", json::quote(version()), ", \"commit\": ", json::quote(build_commit()),
             ", \"command\": ", json::quote(command_line()));
}

}  // namespace

void set_command_line(int argc, char** argv) {
  std::string& line = command_line();
  line.clear();
  for (int i = 0; i < argc; ++i) line += (i ? " " : "") + std::string(argv[i]);
}

std::string provenance_json(const std::string& model_path) {
  std::vector<std::string> files;
  std::error_code ec;
  const fs::path beside = fs::path(model_path).parent_path() / "config.json";
  if (fs::is_directory(model_path, ec) || fs::exists(beside, ec)) {  // a model folder, or a file of one
    const LmFiles f = find_lm_files(model_path);
    if (!f.config.empty()) files.push_back(f.config);
    files.insert(files.end(), f.weights.begin(), f.weights.end());
  } else {
    files.push_back(model_path);
  }
  std::string hashes;
  for (const std::string& file : files)
    hashes += str(hashes.empty() ? "" : ", ", json::quote(fs::path(file).filename().string()), ": ",
                  json::quote(sha256_file(file)));
  return str("{", program_json(), ",\n  \"model\": {\"path\": ", json::quote(model_path), ", \"sha256\": {", hashes,
             "}}}");
}

std::string record_provenance(const std::string& dir, const std::string& model_path) {
  const std::string p = provenance_json(model_path);
  write_file_atomically(dir + "/provenance.json", [&](std::ostream& os) { os << p << "\n"; });
  return p;
}

std::string merged_provenance(const std::vector<std::string>& dirs) {
  std::string shards;
  for (const std::string& dir : dirs) {
    const fs::path p = fs::path(dir) / "provenance.json";
    std::error_code ec;
    std::string text = fs::exists(p, ec) ? read_whole_file(p.string(), 1 << 20, "provenance record") : "null";
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    json::parse(text, "'" + p.string() + "'");  // a damaged record is refused, not copied
    shards += (shards.empty() ? "" : ",\n    ") + text;
  }
  return str("{", program_json(), ",\n  \"shards\": [", shards, "]}");
}

}  // namespace ha::app
