#include "apps/args.h"

#include <iostream>

namespace ha::app {

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? separator : "") + items[i];
  return out;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  const std::string list = s + ",";
  for (size_t at = 0, comma; (comma = list.find(',', at)) != std::string::npos; at = comma + 1)
    out.push_back(list.substr(at, comma - at));
  return out;
}

Args& Args::option(const std::string& name, const std::string& def, const std::string& help, bool required) {
  opts_[name] = {def, help, false, required};
  order_.push_back(name);
  return *this;
}

Args& Args::flag(const std::string& name, const std::string& help) {
  opts_[name] = {"", help, true, false};
  order_.push_back(name);
  return *this;
}

bool Args::parse(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << help();
      return false;
    }
    if (a.rfind("--", 0) != 0) throw UsageError("hattn " + command_ + ": unexpected argument '" + a + "' (see --help)");
    std::string name = a.substr(2), value;
    const size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    auto it = opts_.find(name);
    if (it == opts_.end()) throw UsageError("hattn " + command_ + ": unknown option --" + name + " (see --help)");
    if (it->second.is_flag) {
      if (inline_value) throw UsageError("hattn " + command_ + ": --" + name + " takes no value");
      values_[name] = "1";
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= argc) throw UsageError("hattn " + command_ + ": --" + name + " needs a value");
      value = argv[++i];
    }
    values_[name] = value;
  }
  for (const auto& [name, o] : opts_)
    if (o.required && !values_.count(name))
      throw UsageError("hattn " + command_ + ": --" + name + " is required (see --help)");
  return true;
}

std::string Args::get(const std::string& name) const {
  auto v = values_.find(name);
  if (v != values_.end()) return v->second;
  return opts_.at(name).def;
}

int64_t Args::get_int(const std::string& name) const {
  const std::string v = get(name);
  size_t used = 0;
  long long x = 0;
  try {
    x = std::stoll(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (v.empty() || used != v.size()) throw UsageError("hattn " + command_ + ": --" + name + " expects an integer, got '" + v + "'");
  return x;
}

bool Args::has(const std::string& name) const { return values_.count(name) > 0; }

void Args::set(const std::string& name, const std::string& value) { values_[name] = value; }

void Args::unset(const std::string& name) { values_.erase(name); }

std::string Args::help() const {
  std::string s = "usage: hattn " + command_ + " [options]\n\n" + summary_ + "\n\noptions:\n";
  for (const std::string& name : order_) {
    const Opt& o = opts_.at(name);
    std::string left = "  --" + name + (o.is_flag ? "" : " VALUE");
    left.resize(std::max<size_t>(left.size() + 2, 26), ' ');
    s += left + o.help;
    if (o.required) s += " (required)";
    else if (!o.is_flag && !o.def.empty()) s += " (default: " + o.def + ")";
    s += "\n";
  }
  return s + "  --help                  show this help\n";
}

}  // namespace ha::app
