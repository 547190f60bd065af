// A restricted unpickler for torch.save's data.pkl (pickle protocol <= 2). It builds plain values and
// never calls anything: the only globals it accepts are torch._utils._rebuild_tensor_v2, the torch
// *Storage types, collections.OrderedDict and argparse.Namespace, each interpreted by this code. Any other
// global, any opcode outside the protocol-2 binary set, and any malformed or oversized structure is
// refused with an error naming it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/io/checkpoint.h"

namespace ha::pickle {

struct Value {
  enum class Kind { None, Bool, Int, Float, Str, Tuple, List, Dict, Global, Storage, Tensor, Namespace } kind;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;                                    // Str; Global "module.name"; Storage key
  std::vector<Value*> items;                        // Tuple, List
  std::vector<std::pair<Value*, Value*>> entries;   // Dict, Namespace (attributes)
  // Storage
  StoredType stype = StoredType::F32;
  int64_t numel = 0;
  // Tensor
  Value* storage = nullptr;
  int64_t offset = 0;
  Shape shape, stride;
  int depth = 0;         // container nesting
  bool placed = false;   // held by a container (then it may not grow: see Unpickler::load)
};

class Unpickler {
 public:
  // Parses the whole stream; `what` names the source in errors. The result lives as long as the Unpickler.
  Value* load(const std::string& bytes, const std::string& what);

 private:
  Value* make(Value::Kind k);
  std::vector<std::unique_ptr<Value>> pool_;
};

// Short Python-like rendering for reports; nesting beyond the unpickler's depth cap shows as "...".
std::string repr(const Value* v, int max_len = 120, int depth = 0);

}  // namespace ha::pickle
