// A small JSON reader (for safetensors headers) and string escaping for writers. Depth- and
// size-limited; errors name the byte offset.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ha::json {

struct Value {
  enum class Kind { Null, Bool, Number, String, Array, Object } kind = Kind::Null;
  bool boolean = false;
  double number = 0;
  std::string text;  // String: the value; Number: the literal as written (exact integers)
  std::vector<Value> items;                          // Array
  std::vector<std::pair<std::string, Value>> members;  // Object, in file order

  const Value* find(const std::string& key) const;
  bool is_integer() const;
  int64_t as_int() const;  // throws unless an exact non-negative integer below 2^62
};

Value parse(const std::string& text, const std::string& what);  // `what` names the source in errors
std::string quote(const std::string& s);                          // "..." with JSON escapes

}  // namespace ha::json
