#include "models/class_names.h"

#include <sstream>

#include "models/io/json.h"

namespace ha {

extern const char* const kImageNetClassesText;  // generated from models/data/imagenet_classes.txt by CMake

const std::vector<std::string>& imagenet_class_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    std::istringstream in(kImageNetClassesText);
    std::string line;
    while (std::getline(in, line))
      if (!line.empty() && line[0] != '#') v.push_back(line);
    return v;
  }();
  return names;
}

std::vector<std::string> class_names_for(const Checkpoint& ckpt, int64_t num_classes) {
  auto it = ckpt.metadata().find("class_names");
  if (it != ckpt.metadata().end()) {
    json::Value v = json::parse(it->second, "'" + ckpt.path() + "' metadata class_names");
    if (v.kind == json::Value::Kind::Array && static_cast<int64_t>(v.items.size()) == num_classes) {
      std::vector<std::string> names;
      for (const json::Value& n : v.items) names.push_back(n.kind == json::Value::Kind::String ? n.text : "?");
      return names;
    }
  }
  if (num_classes == static_cast<int64_t>(imagenet_class_names().size())) return imagenet_class_names();
  std::vector<std::string> names;
  for (int64_t k = 0; k < num_classes; ++k) names.push_back("class " + std::to_string(k));
  return names;
}

}  // namespace ha
