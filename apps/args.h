// A small command-line parser for the subcommands: declared options with defaults and help, --flag
// booleans, `--help`, and a UsageError (exit status 2) for anything unknown or malformed.
#pragma once
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace ha::app {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "a,b,c" -> {"a", "b", "c"} (empty items kept, so a stray comma is reported by the caller's parser).
std::vector<std::string> split_list(const std::string& s);
std::string join(const std::vector<std::string>& items, const std::string& separator);

class Args {
 public:
  Args(std::string command, std::string summary) : command_(std::move(command)), summary_(std::move(summary)) {}
  // value option: --name VALUE
  Args& option(const std::string& name, const std::string& def, const std::string& help, bool required = false);
  // boolean flag: --name
  Args& flag(const std::string& name, const std::string& help);

  // Returns false when --help was given (help already printed).
  bool parse(int argc, char** argv);

  std::string get(const std::string& name) const;
  int64_t get_int(const std::string& name) const;  // UsageError unless an integer
  bool has(const std::string& name) const;
  // Gives a declared option a value, as if it had been on the command line (a command reusing its options).
  void set(const std::string& name, const std::string& value);
  void unset(const std::string& name);  // back to "not given"          // given on the command line (or a set flag)
  std::string help() const;

 private:
  struct Opt {
    std::string def, help;
    bool is_flag = false, required = false;
  };
  std::string command_, summary_;
  std::vector<std::string> order_;
  std::map<std::string, Opt> opts_;
  std::map<std::string, std::string> values_;
};

}  // namespace ha::app
