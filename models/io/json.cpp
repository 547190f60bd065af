#include "models/io/json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "models/text/unicode.h"
#include "tensor/error.h"

namespace ha::json {
namespace {

constexpr int kMaxDepth = 64;

struct Parser {
  const std::string& s;
  const std::string& what;
  size_t i = 0;

  [[noreturn]] void fail(const std::string& msg) const {
    throw InputError(str(what, ": invalid JSON at byte ", i, ": ", msg));
  }
  void ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  }
  bool eat(char c) {
    ws();
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(str("expected '", c, "'"));
  }

  unsigned hex4() {
    if (i + 4 > s.size()) fail("truncated \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s[i++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else fail("bad \\u escape");
    }
    return v;
  }

  std::string string() {
    ws();
    if (i >= s.size() || s[i] != '"') fail("expected a string");
    ++i;
    std::string out;
    while (true) {
      if (i >= s.size()) fail("unterminated string");
      char c = s[i++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i >= s.size()) fail("unterminated escape");
      char e = s[i++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00 && i + 6 <= s.size() && s[i] == '\\' && s[i + 1] == 'u') {
            i += 2;
            unsigned lo = hex4();
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          text::utf8_append(out, cp);
          break;
        }
        default: fail(str("bad escape \\", e));
      }
    }
  }

  Value value(int depth) {
    if (depth > kMaxDepth) fail("nesting too deep");
    ws();
    if (i >= s.size()) fail("unexpected end");
    Value v;
    char c = s[i];
    if (c == '{') {
      ++i;
      v.kind = Value::Kind::Object;
      if (eat('}')) return v;
      do {
        std::string key = string();
        expect(':');
        v.members.emplace_back(key, value(depth + 1));
      } while (eat(','));
      expect('}');
    } else if (c == '[') {
      ++i;
      v.kind = Value::Kind::Array;
      if (eat(']')) return v;
      do v.items.push_back(value(depth + 1));
      while (eat(','));
      expect(']');
    } else if (c == '"') {
      v.kind = Value::Kind::String;
      v.text = string();
    } else if (s.compare(i, 4, "true") == 0) {
      v.kind = Value::Kind::Bool, v.boolean = true, i += 4;
    } else if (s.compare(i, 5, "false") == 0) {
      v.kind = Value::Kind::Bool, i += 5;
    } else if (s.compare(i, 4, "null") == 0) {
      i += 4;
    } else if (s.compare(i, 8, "Infinity") == 0 || s.compare(i, 9, "-Infinity") == 0 || s.compare(i, 3, "NaN") == 0) {
      // not JSON, but Python's json module writes them (transformers' Mamba-2 config: time_step_limit)
      v.kind = Value::Kind::Number;
      v.text = s[i] == 'N' ? "NaN" : s[i] == '-' ? "-Infinity" : "Infinity";
      v.number = s[i] == 'N' ? NAN : s[i] == '-' ? -INFINITY : INFINITY;
      i += v.text.size();
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t b = i;
      if (s[i] == '-') ++i;
      while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == 'e' || s[i] == 'E' ||
                              s[i] == '+' || s[i] == '-'))
        ++i;
      v.kind = Value::Kind::Number;
      v.text = s.substr(b, i - b);
      char* end = nullptr;
      v.number = std::strtod(v.text.c_str(), &end);
      if (end != v.text.c_str() + v.text.size()) fail("bad number " + v.text);
    } else {
      fail(str("unexpected character '", c, "'"));
    }
    return v;
  }
};

}  // namespace

const Value* Value::find(const std::string& key) const {
  for (const auto& [k, v] : members)
    if (k == key) return &v;
  return nullptr;
}

bool Value::is_integer() const {
  if (kind != Kind::Number || text.empty()) return false;
  for (size_t k = text[0] == '-' ? 1 : 0; k < text.size(); ++k)
    if (text[k] < '0' || text[k] > '9') return false;
  return true;
}

int64_t Value::as_int() const {
  HATTN_CHECK_INPUT(is_integer() && text[0] != '-' && text.size() <= 18, "JSON: expected a non-negative integer, got '",
                    text, "'");
  return std::strtoll(text.c_str(), nullptr, 10);
}

Value parse(const std::string& text, const std::string& what) {
  Parser p{text, what};
  Value v = p.value(0);
  p.ws();
  if (p.i != text.size()) p.fail("trailing characters");
  return v;
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

}  // namespace ha::json
