// Readers of untrusted files whose libraries are not hardened against hostile input (stb_image, libjpeg, HDF5)
// run in another process: a crash or a hang there becomes an error naming the file, never a crash or a hang of the
// tool. That process is the small program hattn-reader, started with posix_spawn (so a process with threads, the
// tool's own pool or a Python interpreter that loaded the library, is never forked) and given a job's name and
// arguments; it writes the result to a pipe. Where hattn-reader cannot be found, the job runs in a forked child.
// Jobs are plain functions listed in models/io/reader_jobs.h.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ha {

// What a job writes into: `capacity` bytes, of which it fills `size`.
struct IsolatedOutput {
  uint8_t* data;
  size_t capacity;
  size_t size = 0;
  // Ends the job with this reason; the caller throws "'<what>' could not be <action> (<reason>)".
  [[noreturn]] void fail(const std::string& why) const;
};

// Runs job `job` with `args` in another process and returns the bytes it produced (at most `capacity`). Errors,
// all InputError naming `what`: the job failed (its reason), crashed (its signal), could not be started, or did
// not finish within the time limit (then it is killed).
std::vector<uint8_t> run_isolated(const std::string& what, const char* action, size_t capacity, const std::string& job,
                                  const std::vector<std::string>& args);

// The time limit of one isolated read: HATTN_READER_TIMEOUT_S when set to a positive number, else this default
// (generous: a 64-megapixel decode under valgrind takes minutes).
constexpr double kDefaultIsolatedTimeLimit = 300;
constexpr double kMaxIsolatedTimeLimit = 1e6;  // HATTN_READER_TIMEOUT_S beyond it (inf included) means the default
double isolated_time_limit();
void set_isolated_time_limit(double seconds);  // <= 0: kDefaultIsolatedTimeLimit; capped at kMaxIsolatedTimeLimit

// The reader program run_isolated spawns: HATTN_READER when set, else hattn-reader beside the library this code
// is in (libhattn.so), else beside the running program, else the one this build made; "" when there is none (jobs are then forked). Override for tests with `path`
// (an empty string forces the fork path; nullptr goes back to the search).
std::string reader_program();
void set_reader_program(const char* path);
// Without a reader program, the job runs in a fork of this process; a library loaded into another program (the
// C API) turns that off, since forking a multi-threaded host is unsafe: it then reports the missing reader.
void allow_fork_fallback(bool allow);

// hattn-reader's main: `hattn-reader JOB CAPACITY ARGS...` runs the job and writes its result to standard output.
int reader_main(int argc, char** argv);

}  // namespace ha
