// Errors: every failure is an ha::Error whose message names the operation and the offending values.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace ha {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// An error in what came from outside the program: a file that is missing, truncated or malformed, an image
// that does not decode, a checkpoint that does not fit the model, an option out of range. The command line
// exits 2 on these (and on bad usage) and 1 on every other error, which can only be a broken invariant: a bug.
struct InputError : Error {
  using Error::Error;
};

namespace detail {
inline void format_into(std::ostringstream&) {}
template <class T, class... Rest>
void format_into(std::ostringstream& os, const T& v, const Rest&... rest) {
  os << v;
  format_into(os, rest...);
}
}  // namespace detail

// Concatenates its arguments with operator<<.
template <class... Args>
std::string str(const Args&... args) {
  std::ostringstream os;
  detail::format_into(os, args...);
  return os.str();
}

// Throws a clear error unless `path` names a readable regular file (not missing, not a directory).
void require_readable_file(const std::string& path, const char* what);

}  // namespace ha

// HATTN_CHECK(cond, "op: ", a, " vs ", b) throws ha::Error with the concatenated message.
#define HATTN_CHECK(cond, ...)                          \
  do {                                                  \
    if (!(cond)) throw ::ha::Error(::ha::str(__VA_ARGS__)); \
  } while (0)

// The same for checks of outside input (files, data sets, user options): throws ha::InputError.
#define HATTN_CHECK_INPUT(cond, ...)                               \
  do {                                                             \
    if (!(cond)) throw ::ha::InputError(::ha::str(__VA_ARGS__)); \
  } while (0)
