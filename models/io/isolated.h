// Readers of untrusted files whose libraries are not hardened against hostile input (stb_image, HDF5) run
// in a forked child: a crash there becomes an error naming the file, never a crash of the tool.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace ha {

// What the child writes into: `capacity` bytes of memory shared with the parent.
struct IsolatedOutput {
  uint8_t* data;
  size_t capacity;
  size_t size = 0;  // how many bytes of data the child filled
  char* reason;     // on failure: why, as text (a short fixed buffer)
  size_t reason_capacity;
  // Ends the child with this reason; the parent throws "'<what>' could not be <action> (<reason>)".
  [[noreturn]] void fail(const std::string& why);
};

// Runs work(out) in a forked child and returns the bytes it produced (out.size of them). The child leaves with
// _exit (no destructors, no atexit handlers), so work must only write into out. Errors, all InputError naming
// `what`: the child failed (its reason), crashed (its signal), could not be started, or did not finish within the
// time limit (then it is killed: a hung decoder does not hang the tool).
std::vector<uint8_t> run_isolated(const std::string& what, const char* action, size_t capacity,
                                  const std::function<void(IsolatedOutput&)>& work);

// The time limit of one isolated read: HATTN_READER_TIMEOUT_S when set to a positive number, else this default
// (generous: a 64-megapixel decode under valgrind takes minutes).
constexpr double kDefaultIsolatedTimeLimit = 300;
double isolated_time_limit();
void set_isolated_time_limit(double seconds);  // <= 0: kDefaultIsolatedTimeLimit

}  // namespace ha
