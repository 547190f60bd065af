// Class labels: the 1,000 ImageNet-1k names (models/data/imagenet_classes.txt, compiled in), or the names a
// checkpoint carries in its metadata ("class_names", a JSON array), or "class <k>".
#pragma once
#include <string>
#include <vector>

#include "models/io/checkpoint.h"

namespace ha {

const std::vector<std::string>& imagenet_class_names();
std::vector<std::string> class_names_for(const Checkpoint& ckpt, int64_t num_classes);

}  // namespace ha
