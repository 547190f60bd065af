#include "models/io/pickle.h"

#include <cstring>
#include <map>

namespace ha::pickle {
namespace {

constexpr size_t kMaxStack = 1 << 20, kMaxMemo = 1 << 22, kMaxObjects = 1 << 24;
constexpr int kMaxDepth = 100;

const std::map<std::string, StoredType>& storage_types() {
  static const std::map<std::string, StoredType> m = {
      {"torch.FloatStorage", StoredType::F32},  {"torch.DoubleStorage", StoredType::F64},
      {"torch.HalfStorage", StoredType::F16},   {"torch.BFloat16Storage", StoredType::BF16},
      {"torch.LongStorage", StoredType::I64},   {"torch.IntStorage", StoredType::I32},
      {"torch.ShortStorage", StoredType::I16},  {"torch.CharStorage", StoredType::I8},
      {"torch.ByteStorage", StoredType::U8},    {"torch.BoolStorage", StoredType::Bool}};
  return m;
}

bool allowed_global(const std::string& g) {
  return g == "torch._utils._rebuild_tensor_v2" || g == "collections.OrderedDict" || g == "argparse.Namespace" ||
         storage_types().count(g) > 0;
}

}  // namespace

Value* Unpickler::make(Value::Kind k) {
  HATTN_CHECK_INPUT(pool_.size() < kMaxObjects, "pickle: more than ", kMaxObjects, " objects");
  pool_.push_back(std::make_unique<Value>());
  pool_.back()->kind = k;
  return pool_.back().get();
}

Value* Unpickler::load(const std::string& data, const std::string& what) {
  std::vector<Value*> stack;
  std::vector<size_t> marks;
  std::vector<Value*> memo;
  size_t pos = 0;
  auto fail = [&](const std::string& msg) -> void { throw InputError(str(what, ": ", msg, " (at byte ", pos, ")")); };
  auto need = [&](size_t n) {
    if (n > data.size() - pos) fail("truncated pickle");
  };
  auto u = [&](int n) {
    need(n);
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | static_cast<unsigned char>(data[pos + k]);
    pos += n;
    return v;
  };
  auto pop = [&]() {
    if (stack.empty() || (!marks.empty() && stack.size() <= marks.back())) fail("stack underflow");
    Value* v = stack.back();
    stack.pop_back();
    return v;
  };
  auto push = [&](Value* v) {
    if (stack.size() >= kMaxStack) fail("stack too deep");
    stack.push_back(v);
  };
  auto pop_mark = [&]() {
    if (marks.empty()) fail("no MARK on the stack");
    std::vector<Value*> items(stack.begin() + marks.back(), stack.end());
    stack.resize(marks.back());
    marks.pop_back();
    return items;
  };
  auto adopt = [&](Value* container, Value* child) {
    if (child == container) fail("a container that contains itself");
    child->placed = true;
    container->depth = std::max(container->depth, child->depth + 1);
    if (container->depth > kMaxDepth) fail(str("nesting deeper than ", kMaxDepth));
  };
  // Python's pickler fills a container before placing it in another; only a reference cycle (L = [M], M = [L])
  // adds to one afterwards. Refusing that keeps every depth final and the value graph acyclic, while shared
  // references (one object in two places) stay legal.
  auto growable = [&](Value* c, const char* op) {
    if (c->placed) fail(str(op, " on a container already placed in another (a reference cycle; torch.save never writes one)"));
    return c;
  };
  auto container = [&](Value::Kind k, const std::vector<Value*>& items) {
    Value* v = make(k);
    for (Value* it : items) adopt(v, it);
    v->items = items;
    return v;
  };
  auto str_of = [&](size_t n) {
    need(n);
    Value* v = make(Value::Kind::Str);
    v->s = data.substr(pos, n);
    pos += n;
    return v;
  };
  auto set_items = [&](Value* d, const std::vector<Value*>& kv) {
    if (d->kind != Value::Kind::Dict) fail("SETITEM(S) on a non-dict");
    if (kv.size() % 2) fail("odd number of items for SETITEMS");
    for (size_t k = 0; k < kv.size(); k += 2) {
      adopt(d, kv[k + 1]);
      d->entries.emplace_back(kv[k], kv[k + 1]);
    }
  };
  auto int_arg = [&](Value* v, const char* field) {
    if (v->kind != Value::Kind::Int) fail(str("_rebuild_tensor_v2: ", field, " is not an int"));
    return v->i;
  };
  auto int_tuple = [&](Value* v, const char* field) {
    if (v->kind != Value::Kind::Tuple) fail(str("_rebuild_tensor_v2: ", field, " is not a tuple"));
    Shape s;
    for (Value* x : v->items) s.push_back(int_arg(x, field));
    return s;
  };

  while (true) {
    need(1);
    const unsigned char op = static_cast<unsigned char>(data[pos++]);
    switch (op) {
      case 0x80: {  // PROTO
        uint64_t proto = u(1);
        if (proto > 2) fail(str("pickle protocol ", proto, " is not supported (only <= 2, as torch.save writes)"));
        break;
      }
      case '.': {  // STOP
        if (stack.size() != 1 || !marks.empty()) fail(str("malformed pickle: STOP with ", stack.size(), " values on the stack"));
        return stack.back();
      }
      case 'N': push(make(Value::Kind::None)); break;
      case 0x88: case 0x89: {
        Value* v = make(Value::Kind::Bool);
        v->b = op == 0x88;
        push(v);
        break;
      }
      case 'J': { Value* v = make(Value::Kind::Int); v->i = static_cast<int32_t>(u(4)); push(v); break; }
      case 'K': { Value* v = make(Value::Kind::Int); v->i = static_cast<int64_t>(u(1)); push(v); break; }
      case 'M': { Value* v = make(Value::Kind::Int); v->i = static_cast<int64_t>(u(2)); push(v); break; }
      case 0x8a: {  // LONG1
        const uint64_t n = u(1);
        if (n > 8) fail(str("integer of ", n, " bytes is too large"));
        need(n);
        uint64_t x = 0;
        for (int k = static_cast<int>(n) - 1; k >= 0; --k) x = (x << 8) | static_cast<unsigned char>(data[pos + k]);
        if (n > 0 && n < 8 && (static_cast<unsigned char>(data[pos + n - 1]) & 0x80)) x |= ~uint64_t(0) << (8 * n);
        pos += n;
        Value* v = make(Value::Kind::Int);
        v->i = static_cast<int64_t>(x);
        push(v);
        break;
      }
      case 'G': {  // BINFLOAT, big-endian
        need(8);
        uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = (bits << 8) | static_cast<unsigned char>(data[pos + k]);
        pos += 8;
        Value* v = make(Value::Kind::Float);
        std::memcpy(&v->f, &bits, 8);
        push(v);
        break;
      }
      case 'X': { uint64_t n = u(4); push(str_of(n)); break; }  // BINUNICODE
      case 'U': { uint64_t n = u(1); push(str_of(n)); break; }  // SHORT_BINSTRING
      case 'T': { uint64_t n = u(4); push(str_of(n)); break; }  // BINSTRING
      case ')': push(container(Value::Kind::Tuple, {})); break;
      case 't': push(container(Value::Kind::Tuple, pop_mark())); break;
      case 0x85: { Value* a = pop(); push(container(Value::Kind::Tuple, {a})); break; }
      case 0x86: { Value* b = pop(); Value* a = pop(); push(container(Value::Kind::Tuple, {a, b})); break; }
      case 0x87: { Value* c = pop(); Value* b = pop(); Value* a = pop(); push(container(Value::Kind::Tuple, {a, b, c})); break; }
      case ']': push(container(Value::Kind::List, {})); break;
      case 'l': push(container(Value::Kind::List, pop_mark())); break;
      case 'a': case 'e': {  // APPEND, APPENDS
        std::vector<Value*> items = op == 'a' ? std::vector<Value*>{pop()} : pop_mark();
        if (stack.empty()) fail("APPEND without a list");
        Value* list = stack.back();
        if (list->kind != Value::Kind::List) fail("APPEND to a non-list");
        growable(list, "APPEND");
        for (Value* it : items) {
          adopt(list, it);
          list->items.push_back(it);
        }
        break;
      }
      case '}': push(make(Value::Kind::Dict)); break;
      case 'd': { Value* d = make(Value::Kind::Dict); set_items(d, pop_mark()); push(d); break; }
      case 's': case 'u': {  // SETITEM, SETITEMS
        std::vector<Value*> kv;
        if (op == 's') {
          Value* v = pop();
          Value* k = pop();
          kv = {k, v};
        } else {
          kv = pop_mark();
        }
        if (stack.empty()) fail("SETITEM without a dict");
        set_items(growable(stack.back(), "SETITEM"), kv);
        break;
      }
      case '(': marks.push_back(stack.size()); break;
      case '0': pop(); break;
      case '1': pop_mark(); break;
      case '2': { if (stack.empty()) fail("DUP on an empty stack"); push(stack.back()); break; }
      case 'q': case 'r': {  // BINPUT, LONG_BINPUT
        uint64_t idx = u(op == 'q' ? 1 : 4);
        if (stack.empty()) fail("PUT on an empty stack");
        if (idx >= kMaxMemo) fail(str("memo index ", idx, " too large"));
        if (idx >= memo.size()) memo.resize(idx + 1, nullptr);
        memo[idx] = stack.back();
        break;
      }
      case 'h': case 'j': {  // BINGET, LONG_BINGET
        uint64_t idx = u(op == 'h' ? 1 : 4);
        if (idx >= memo.size() || !memo[idx]) fail(str("memo index ", idx, " was never stored"));
        push(memo[idx]);
        break;
      }
      case 'c': {  // GLOBAL "module\nname\n"
        size_t nl1 = data.find('\n', pos);
        size_t nl2 = nl1 == std::string::npos ? nl1 : data.find('\n', nl1 + 1);
        if (nl2 == std::string::npos || nl2 - pos > 256) fail("malformed GLOBAL");
        std::string name = data.substr(pos, nl1 - pos) + "." + data.substr(nl1 + 1, nl2 - nl1 - 1);
        pos = nl2 + 1;
        if (!allowed_global(name))
          fail(str("refused global '", name, "': checkpoints may only reference torch tensors/storages, ",
                   "collections.OrderedDict and argparse.Namespace; nothing in the file is ever executed"));
        Value* g = make(Value::Kind::Global);
        g->s = name;
        push(g);
        break;
      }
      case 'R': {  // REDUCE: callable(*args), interpreted, never called
        Value* args = pop();
        Value* fn = pop();
        if (fn->kind != Value::Kind::Global || args->kind != Value::Kind::Tuple) fail("REDUCE of a non-global");
        if (fn->s == "collections.OrderedDict") {
          if (!args->items.empty()) fail("OrderedDict with arguments");
          push(make(Value::Kind::Dict));
        } else if (fn->s == "torch._utils._rebuild_tensor_v2") {
          if (args->items.size() < 4) fail("_rebuild_tensor_v2 needs (storage, offset, size, stride, ...)");
          Value* t = make(Value::Kind::Tensor);
          t->storage = args->items[0];
          if (t->storage->kind != Value::Kind::Storage) fail("_rebuild_tensor_v2: first argument is not a storage");
          t->offset = int_arg(args->items[1], "storage_offset");
          t->shape = int_tuple(args->items[2], "size");
          t->stride = int_tuple(args->items[3], "stride");
          if (t->shape.size() != t->stride.size()) fail("_rebuild_tensor_v2: size and stride differ in length");
          push(t);
        } else {
          fail(str("refused call of '", fn->s, "'"));
        }
        break;
      }
      case 0x81: {  // NEWOBJ cls(*args): only argparse.Namespace()
        Value* args = pop();
        Value* cls = pop();
        if (cls->kind != Value::Kind::Global || cls->s != "argparse.Namespace")
          fail(str("refused NEWOBJ of '", cls->kind == Value::Kind::Global ? cls->s : "a non-global", "'"));
        if (args->kind != Value::Kind::Tuple || !args->items.empty()) fail("Namespace with arguments");
        push(make(Value::Kind::Namespace));
        break;
      }
      case 'b': {  // BUILD obj.__setstate__(state): Namespace attributes; an OrderedDict's _metadata is dropped
        Value* state = pop();
        if (stack.empty()) fail("BUILD without an object");
        Value* obj = stack.back();
        if (state->kind != Value::Kind::Dict) fail("BUILD with a non-dict state");
        if (obj->kind == Value::Kind::Namespace) {
          growable(obj, "BUILD");
          for (auto& kv : state->entries) adopt(obj, kv.second);
          obj->entries = state->entries;
        } else if (obj->kind != Value::Kind::Dict) {
          fail("BUILD on an object that is neither a Namespace nor an OrderedDict");
        }
        break;
      }
      case 'Q': {  // BINPERSID ('storage', StorageType, key, location, numel)
        Value* pid = pop();
        if (pid->kind != Value::Kind::Tuple || pid->items.size() != 5 || pid->items[0]->kind != Value::Kind::Str ||
            pid->items[0]->s != "storage" || pid->items[1]->kind != Value::Kind::Global ||
            pid->items[2]->kind != Value::Kind::Str || pid->items[4]->kind != Value::Kind::Int)
          fail("malformed persistent id (expected ('storage', type, key, location, numel))");
        auto it = storage_types().find(pid->items[1]->s);
        if (it == storage_types().end()) fail(str("persistent id names '", pid->items[1]->s, "', not a storage type"));
        Value* s = make(Value::Kind::Storage);
        s->stype = it->second;
        s->s = pid->items[2]->s;
        s->numel = pid->items[4]->i;
        if (s->numel < 0) fail("negative storage size");
        push(s);
        break;
      }
      default:
        if (op == 'B' || op == 'C' || op == 0x8c || op == 0x8d || op == 0x8e || op == 0x8f || op == 0x90 ||
            op == 0x91 || op == 0x92 || op == 0x93 || op == 0x94 || op == 0x95 || op == 0x96 || op == 0x97 || op == 0x98)
          fail(str("opcode 0x", std::hex, int(op), std::dec, " belongs to pickle protocol 3 or later; only <= 2 is accepted"));
        fail(str("unsupported pickle opcode 0x", std::hex, int(op), std::dec,
                 (op >= 0x20 && op < 0x7f) ? str(" ('", char(op), "')") : std::string()));
    }
  }
}

std::string repr(const Value* v, int max_len, int depth) {
  std::string out;
  if (depth > kMaxDepth) return "...";
  switch (v->kind) {
    case Value::Kind::None: out = "None"; break;
    case Value::Kind::Bool: out = v->b ? "True" : "False"; break;
    case Value::Kind::Int: out = std::to_string(v->i); break;
    case Value::Kind::Float: out = str(v->f); break;
    case Value::Kind::Str: out = "'" + v->s + "'"; break;
    case Value::Kind::Global: out = v->s; break;
    case Value::Kind::Storage: out = str("storage ", stored_type_name(v->stype), "[", v->numel, "]"); break;
    case Value::Kind::Tensor: out = str("tensor ", stored_type_name(v->storage->stype), shape_str(v->shape)); break;
    case Value::Kind::Tuple: case Value::Kind::List: {
      out = v->kind == Value::Kind::Tuple ? "(" : "[";
      for (size_t k = 0; k < v->items.size() && out.size() < size_t(max_len); ++k)
        out += (k ? ", " : "") + repr(v->items[k], max_len, depth + 1);
      out += v->kind == Value::Kind::Tuple ? ")" : "]";
      break;
    }
    case Value::Kind::Dict: out = str("dict with ", v->entries.size(), " entries"); break;
    case Value::Kind::Namespace: out = str("Namespace with ", v->entries.size(), " attributes"); break;
  }
  if (static_cast<int>(out.size()) > max_len) out = out.substr(0, max_len) + "...";
  return out;
}

}  // namespace ha::pickle
