#include "models/io/isolated.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

#include "models/io/reader_jobs.h"
#include "tensor/error.h"

extern char** environ;

namespace ha {
namespace {

// A job's result on the pipe: 'D', the size as 8 little-endian bytes, the bytes; or 'F' and the reason's text.
constexpr size_t kHead = 9, kMaxReason = 4096;

using Clock = std::chrono::steady_clock;

std::atomic<double> time_limit_s{-1};  // < 0: not read yet
std::mutex program_mutex;
bool program_overridden = false;
std::string program_override;

int64_t remaining_ms(Clock::time_point deadline) {
  return std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
}

// waitpid that a signal (a profiler's or libFuzzer's timer) cannot cut short: otherwise the child would be left a
// zombie and a good file reported as an error.
pid_t wait_for(pid_t pid, int* status) {
  pid_t waited;
  do waited = waitpid(pid, status, 0);
  while (waited < 0 && errno == EINTR);
  return waited;
}

enum class Ended { Exited, Unknown, TimedOut };  // Unknown: it ended, but the host reaped it (SIGCHLD ignored)

// Waits until the child ends or the deadline passes (a pidfd polled with a timeout; a 1 ms waitpid poll where
// pidfds are missing). When the deadline passes, the child is killed and reaped.
Ended wait_until(pid_t pid, int* status, Clock::time_point deadline) {
  bool ended = false;
  const int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));  // glibc 2.36's <sys/pidfd.h> lacks extern "C"
  if (fd >= 0) {
    while (true) {
      pollfd p{fd, POLLIN, 0};
      const int r = poll(&p, 1, static_cast<int>(std::min<int64_t>(remaining_ms(deadline), 1 << 30)));
      if (r > 0) { ended = true; break; }
      if (r == 0 && remaining_ms(deadline) == 0) break;
      if (r < 0 && errno != EINTR) { ended = true; break; }  // cannot poll: fall back to an unlimited wait
    }
    close(fd);
  } else {
    pid_t w = 0;
    while ((w = waitpid(pid, status, WNOHANG)) == 0 && remaining_ms(deadline) > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (w == pid) return Ended::Exited;
    if (w < 0 && errno == ECHILD) return Ended::Unknown;
  }
  if (!ended) kill(pid, SIGKILL);
  const pid_t w = wait_for(pid, status);
  if (!ended) return Ended::TimedOut;
  return w == pid ? Ended::Exited : Ended::Unknown;
}

// Owns a started reader (its pid and the pipe's read end) until the result is in: on an exception (an allocation
// failure while reading) the pipe is closed and the child killed and reaped, so nothing is left behind.
struct StartedReader {
  pid_t pid = -1;
  int fd = -1;
  ~StartedReader() {
    if (fd >= 0) close(fd);
    if (pid > 0) {
      kill(pid, SIGKILL);
      int status;
      wait_for(pid, &status);
    }
  }
};

// Reads up to n bytes before the deadline: how many it got (fewer only at the end of the data, or on a read
// error), or -1 when time ran out first.
ssize_t read_until(int fd, void* p, size_t n, Clock::time_point deadline) {
  size_t got = 0;
  while (got < n) {
    pollfd q{fd, POLLIN, 0};
    const int r = poll(&q, 1, static_cast<int>(std::min<int64_t>(remaining_ms(deadline), 1 << 30)));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      if (remaining_ms(deadline) > 0) continue;
      return -1;
    }
    const ssize_t k = r < 0 ? -1 : read(fd, static_cast<char*>(p) + got, n - got);
    if (k < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (k <= 0) break;
    got += static_cast<size_t>(k);
  }
  return static_cast<ssize_t>(got);
}

bool write_all(int fd, const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    const ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    c += w, n -= static_cast<size_t>(w);
  }
  return true;
}

// Runs a job in this process and writes its result to fd: the body of hattn-reader and of a forked child.
int run_job_to(int fd, const std::string& name, size_t capacity, const std::vector<std::string>& args) {
  std::string reason;
  try {
    const ReaderJob job = find_reader_job(name);
    if (!job) throw InputError(str("no reader job '", name, "'"));
    std::vector<uint8_t> buffer(capacity);
    IsolatedOutput out{buffer.data(), capacity, 0};
    job(args, out);
    if (out.size > capacity) throw Error(str("reader job '", name, "' overflowed its ", capacity, " bytes"));
    unsigned char head[kHead] = {'D'};
    for (int k = 0; k < 8; ++k) head[1 + k] = static_cast<unsigned char>(uint64_t(out.size) >> (8 * k));
    return write_all(fd, head, kHead) && write_all(fd, buffer.data(), out.size) ? 0 : 3;
  } catch (const std::exception& e) {
    reason = e.what();
  }
  reason = "F" + reason.substr(0, kMaxReason);
  write_all(fd, reason.data(), reason.size());
  return 2;
}

bool executable(const std::string& p) { return !p.empty() && access(p.c_str(), X_OK) == 0; }

std::string beside(const std::string& file, const char* name) {
  const size_t slash = file.rfind('/');
  return (slash == std::string::npos ? std::string(".") : file.substr(0, slash)) + "/" + name;
}

std::string search_reader_program() {
  if (const char* env = std::getenv("HATTN_READER"); env && *env) return env;
  // first beside the library this code is in (a shared one loaded by another program: libhattn.so), so that
  // a host program's folder (python's) never supplies a reader of another version; then beside the program
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&reader_main), &info) && info.dli_fname && info.dli_fname[0] == '/')
    if (const std::string c = beside(info.dli_fname, "hattn-reader"); executable(c)) return c;  // never a relative
                                                                                             // path: the cwd is data
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = 0;
    if (const std::string c = beside(exe, "hattn-reader"); executable(c)) return c;
  }
#ifdef HATTN_READER_BUILD_PATH
  if (executable(HATTN_READER_BUILD_PATH)) return HATTN_READER_BUILD_PATH;
#endif
  return "";
}

}  // namespace

void IsolatedOutput::fail(const std::string& why) const { throw InputError(why); }

double isolated_time_limit() {
  double t = time_limit_s.load();
  if (t < 0) {
    const char* env = std::getenv("HATTN_READER_TIMEOUT_S");
    char* end = nullptr;
    const double v = env ? std::strtod(env, &end) : 0;
    t = env && end != env && *end == 0 && v > 0 && v <= kMaxIsolatedTimeLimit ? v : kDefaultIsolatedTimeLimit;
    time_limit_s.store(t);
  }
  return t;
}

void set_isolated_time_limit(double seconds) {
  time_limit_s.store(seconds > 0 ? std::min(seconds, kMaxIsolatedTimeLimit) : kDefaultIsolatedTimeLimit);
}

std::string reader_program() {
  std::lock_guard<std::mutex> lock(program_mutex);
  if (program_overridden) return program_override;
  static const std::string found = search_reader_program();
  return found;
}

std::atomic<bool> fork_fallback{true};

void allow_fork_fallback(bool allow) { fork_fallback.store(allow); }

void set_reader_program(const char* path) {
  std::lock_guard<std::mutex> lock(program_mutex);
  program_overridden = path != nullptr;
  program_override = path ? path : "";
}

std::vector<uint8_t> run_isolated(const std::string& what, const char* action, size_t capacity, const std::string& job,
                                  const std::vector<std::string>& args) {
  const double limit = isolated_time_limit();
  const Clock::time_point deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(limit));
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw InputError(str("'", what, "': cannot make a pipe for the reader process"));
  const std::string program = reader_program();
  pid_t pid = -1;
  int spawn_error = 0;
  if (!program.empty()) {
    std::vector<std::string> argv_s{program, job, std::to_string(capacity)};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);  // dup2 clears close-on-exec
    posix_spawnattr_t attr;  // the reader starts with no blocked and no ignored signals, whatever the caller has
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    spawn_error = posix_spawn(&pid, program.c_str(), &actions, &attr, argv.data(), environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    if (spawn_error != 0) pid = -1;
  } else {
    if (!fork_fallback.load()) {
      close(fds[0]);
      close(fds[1]);
      throw InputError(str("'", what, "': no hattn-reader program beside the library or the program (set ",
                           "HATTN_READER to its path)"));
    }
    std::fflush(nullptr);  // nothing buffered may be written twice
    pid = fork();
    if (pid == 0) {
      close(fds[0]);
      _exit(run_job_to(fds[1], job, capacity, args));
    }
  }
  close(fds[1]);
  StartedReader reader{pid, fds[0]};
  if (pid < 0) {
    throw InputError(str("'", what, "': cannot start the reader ",
                         program.empty() ? std::string("process") : "program '" + program + "'",
                         spawn_error ? str(" (", std::strerror(spawn_error), ")") : std::string()));
  }
  // Read the result while the child writes it (a pipe holds 64 KB), in the order it is written.
  bool timed_out = false, malformed = false, whole = false;
  std::vector<uint8_t> data;
  std::string reason;
  unsigned char head[kHead];
  const ssize_t kind = read_until(fds[0], head, 1, deadline);
  if (kind == 1 && head[0] == 'F') {  // a failure: the reason, up to the end
    char text[kMaxReason];
    const ssize_t n = read_until(fds[0], text, sizeof text, deadline);
    timed_out = n < 0;
    reason.assign(text, static_cast<size_t>(std::max<ssize_t>(n, 0)));
  } else if (kind == 1 && head[0] == 'D') {  // the size, the bytes, then the end
    const ssize_t h = read_until(fds[0], head + 1, kHead - 1, deadline);
    timed_out = h < 0;
    uint64_t size = 0;
    for (size_t k = 1; h == static_cast<ssize_t>(kHead - 1) && k < kHead; ++k) size |= uint64_t(head[k]) << (8 * (k - 1));
    malformed = size > capacity;
    if (h == static_cast<ssize_t>(kHead - 1) && !malformed) {  // (a shorter head: the reader died while writing it)
      data.resize(size);
      const ssize_t n = read_until(fds[0], data.data(), size, deadline);
      unsigned char extra;
      const ssize_t more = n == static_cast<ssize_t>(size) ? read_until(fds[0], &extra, 1, deadline) : 0;
      timed_out = n < 0 || more < 0;
      malformed = more > 0;
      whole = n == static_cast<ssize_t>(size) && more == 0;
    }
  } else {
    timed_out = kind < 0;
    malformed = kind == 1;  // neither 'D' nor 'F'
  }
  close(fds[0]);
  reader.fd = -1;
  int status = 0;
  Ended ended = Ended::Exited;
  if (timed_out || malformed) {
    kill(pid, SIGKILL);
    wait_for(pid, &status);
  } else {  // the pipe is closed: the child is exiting; a result that came just in time gets a moment to do so
    ended = wait_until(pid, &status, std::max(deadline, Clock::now() + std::chrono::seconds(2)));
    timed_out = ended == Ended::TimedOut;
  }
  reader.pid = -1;
  if (timed_out)
    throw InputError(str("'", what, "' could not be ", action, ": the reader did not finish within ", limit,
                         " s and was stopped (HATTN_READER_TIMEOUT_S sets the limit; sanitizer and valgrind runs are slower)"));
  if (malformed)
    throw InputError(str("'", what, "' could not be ", action, ": the reader wrote a malformed result"));
  if (ended == Ended::Exited && WIFSIGNALED(status))
    throw InputError(str("'", what, "' could not be ", action, ": the reader crashed (signal ", WTERMSIG(status),
                         ") on this malformed file"));
  if (kind == 1 && head[0] == 'F')
    throw InputError(str("'", what, "' could not be ", action, " (", reason.empty() ? "no reason given" : reason, ")"));
  if (!whole || (ended == Ended::Exited && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)))
    throw InputError(str("'", what, "' could not be ", action, ": the reader ended without a whole result (exit ",
                         ended == Ended::Exited && WIFEXITED(status) ? WEXITSTATUS(status) : -1, ")"));
  return data;
}

int reader_main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: hattn-reader JOB CAPACITY ARGS... (run by hattn to read untrusted files apart)\n");
    return 2;
  }
  char* end = nullptr;
  const unsigned long long capacity = std::strtoull(argv[2], &end, 10);
  if (*argv[2] == 0 || *end != 0) {
    std::fprintf(stderr, "hattn-reader: bad capacity '%s'\n", argv[2]);
    return 2;
  }
  return run_job_to(STDOUT_FILENO, argv[1], static_cast<size_t>(capacity), std::vector<std::string>(argv + 3, argv + argc));
}

}  // namespace ha
