#include "xai/registry.h"


namespace ha::xai {

int64_t option_int(const std::map<std::string, std::string>& options, const std::string& key, int64_t fallback) {
  const auto it = options.find(key);
  if (it == options.end()) return fallback;
  size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(it->second, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  HATTN_CHECK_INPUT(used > 0 && used == it->second.size(), key, ": '", it->second, "' is not an integer");
  return v;
}

const Checkpoint& ModelFile::checkpoint() const {
  if (!ckpt_) ckpt_ = Checkpoint::open(path_);
  return *ckpt_;
}

// Every family, in the order they are asked whether a file is theirs.
const std::vector<FamilyEntry>& families() {
  // gpt_neox and bert before mamba_lm: a Mamba LM is recognised by its weights' folder alone, the others by their
  // config.json's model_type
  static const std::vector<FamilyEntry> all = {gpt_neox_family(),           bert_family(),        mamba_lm_family(),
                                               vision_transformer_family(), vision_mamba_family()};
  return all;
}

const FamilyEntry& family_of(const ModelFile& file) {
  for (const FamilyEntry& f : families())
    if (f.recognizes(file)) return f;
  std::string expected;
  for (const FamilyEntry& f : families()) expected += str(expected.empty() ? "" : ", ", f.files);
  throw InputError(str("'", file.path(), "' is none of the models this build explains: ", expected));
}

bool takes_load_option(const FamilyEntry& f, const std::string& name) {
  for (const LoadOption& o : f.load_options)
    if (o.name == name) return true;
  return false;
}

void check_load_options(const FamilyEntry& f, const LoadOptions& o, const std::string& path) {
  for (const auto& [name, value] : o.values) {
    if (takes_load_option(f, name)) continue;
    std::string takes;
    for (const LoadOption& t : f.load_options) takes += str(takes.empty() ? "" : ", ", t.name);
    throw InputError(str("option '", name, "' does not apply to '", path, "', a ", f.name, " (",
                         takes.empty() ? std::string("it takes none") : "it takes " + takes, ")"));
  }
}

std::string checkpoint_file_line(const Checkpoint& ckpt) {
  int64_t stored = 0;
  for (const TensorRecord& r : ckpt.records()) stored += numel_of(r.shape);
  return str("file        ", ckpt.path(), " (", ckpt.format(), ", ", ckpt.records().size(), " tensors, ", stored,
             " values)\n");
}

std::string checkpoint_extras_lines(const Checkpoint& ckpt) {
  std::string out;
  for (const auto& [k, v] : ckpt.extras()) out += str("holds       ", k, ": ", v, "\n");
  for (const auto& [k, v] : ckpt.metadata())
    if (k.rfind("args.", 0) == 0) out += str("args        ", k.substr(5), " = ", v, "\n");
  return out;
}

std::unique_ptr<Explainable> load(const std::string& path, const LoadOptions& options) {
  return load(ModelFile(path), options);
}

std::unique_ptr<Explainable> load(const ModelFile& file, const LoadOptions& options) {
  const FamilyEntry& f = family_of(file);
  check_load_options(f, options, file.path());
  return f.load(file, options);
}

std::string inspect(const std::string& path, const LoadOptions& options) {
  const ModelFile file(path);
  const FamilyEntry& f = family_of(file);
  check_load_options(f, options, path);
  return f.inspect(file, options);
}

}  // namespace ha::xai
