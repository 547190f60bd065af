// PyTorch .pth (torch.save's zip format): <prefix>/data.pkl is unpickled by the restricted Unpickler;
// tensors refer to <prefix>/data/<key> storages. The state dict is checkpoint['model'] when the file is
// Vim's training checkpoint, or the top-level dict itself when it is a bare state dict.
#include <fstream>
#include <map>

#include "models/io/checkpoint.h"
#include "models/io/pickle.h"
#include "models/io/zip.h"

namespace ha {

Checkpoint open_pth(const std::string& path) {
  std::vector<zip::Entry> entries = zip::read_index(path);
  HATTN_CHECK_INPUT(!entries.empty(), "'", path, "': empty zip archive");
  const std::string& first = entries[0].name;
  const size_t slash = first.find('/');
  const std::string prefix = slash == std::string::npos ? "" : first.substr(0, slash + 1);
  std::map<std::string, const zip::Entry*> by_name;
  for (const zip::Entry& e : entries) by_name[e.name] = &e;
  auto pkl = by_name.find(prefix + "data.pkl");
  HATTN_CHECK_INPUT(pkl != by_name.end(), "'", path, "': no '", prefix, "data.pkl' in the archive: not a torch.save file");
  const std::string bytes = zip::read_entry(path, *pkl->second, 512u << 20);

  pickle::Unpickler up;
  const pickle::Value* root = up.load(bytes, "'" + path + "' data.pkl");
  HATTN_CHECK_INPUT(root->kind == pickle::Value::Kind::Dict, "'", path, "': top-level object is ", pickle::repr(root),
                    ", not a dict");

  Checkpoint c;
  c.path_ = path;
  c.format_ = "pth";
  {
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    c.file_size_ = static_cast<uint64_t>(f.tellg());
  }
  const pickle::Value* state = nullptr;
  bool bare = true;
  for (const auto& [k, v] : root->entries)
    if (k->kind != pickle::Value::Kind::Str || v->kind != pickle::Value::Kind::Tensor) bare = false;
  if (bare) {
    state = root;
    c.extras_.emplace_back("layout", "bare state dict");
  } else {
    for (const auto& [k, v] : root->entries) {
      const std::string key = k->kind == pickle::Value::Kind::Str ? k->s : pickle::repr(k);
      if (key == "model") {
        HATTN_CHECK_INPUT(v->kind == pickle::Value::Kind::Dict, "'", path, "': checkpoint['model'] is ", pickle::repr(v),
                          ", not a state dict");
        state = v;
        c.extras_.emplace_back("model", str("state dict with ", v->entries.size(), " tensors"));
      } else if (v->kind == pickle::Value::Kind::Namespace) {
        c.extras_.emplace_back(key, pickle::repr(v));
        for (const auto& [ak, av] : v->entries) {
          if (ak->kind != pickle::Value::Kind::Str) continue;
          std::string text = av->kind == pickle::Value::Kind::Str ? av->s : pickle::repr(av, 200);
          c.metadata_[key + "." + ak->s] = text;
        }
      } else {
        c.extras_.emplace_back(key, pickle::repr(v));  // optimizer, model_ema, ...: indexed, never loaded
      }
    }
    HATTN_CHECK_INPUT(state != nullptr, "'", path, "': no 'model' entry and not a bare state dict (keys are other objects)");
  }
  for (const auto& [k, v] : state->entries) {
    HATTN_CHECK_INPUT(k->kind == pickle::Value::Kind::Str, "'", path, "': a state-dict key is not a string");
    HATTN_CHECK_INPUT(v->kind == pickle::Value::Kind::Tensor, "'", path, "': state-dict entry '", k->s, "' is ",
                      pickle::repr(v), ", not a tensor");
    const pickle::Value* st = v->storage;
    auto e = by_name.find(prefix + "data/" + st->s);
    HATTN_CHECK_INPUT(e != by_name.end(), "'", path, "': tensor '", k->s, "' refers to storage '", prefix, "data/", st->s,
                      "', which is missing from the archive");
    HATTN_CHECK_INPUT(e->second->method == 0, "'", path, "': storage of '", k->s, "' is compressed");
    const uint64_t declared = static_cast<uint64_t>(st->numel) * stored_type_size(st->stype);
    HATTN_CHECK_INPUT(declared <= e->second->size, "'", path, "': storage '", st->s, "' declares ", st->numel,
                      " elements but holds only ", e->second->size, " bytes");
    TensorRecord r;
    r.name = k->s;
    r.type = st->stype;
    r.shape = v->shape;
    r.strides = v->stride;
    r.element_offset = v->offset;
    r.file_offset = e->second->data_offset;
    r.storage_bytes = declared;
    c.add_record(std::move(r));
  }
  return c;
}

}  // namespace ha
