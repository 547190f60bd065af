#include "models/io/isolated.h"

#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <thread>

#include "tensor/error.h"

namespace ha {
namespace {

// The shared mapping: a verdict byte, the reason text, the size filled, then the data.
constexpr size_t kReason = 240;
struct Header {
  char verdict;  // 'D' done, 'F' failed; set last, so a child killed half-way leaves neither
  char reason[kReason];
  uint64_t size;
};
constexpr size_t kHeader = (sizeof(Header) + 63) / 64 * 64;

std::atomic<double> time_limit_s{-1};  // < 0: not read yet

// waitpid that a signal (a profiler's or libFuzzer's timer) cannot cut short: otherwise the child would be left a
// zombie and a good file reported as an error.
pid_t wait_for(pid_t pid, int* status) {
  pid_t waited;
  do waited = waitpid(pid, status, 0);
  while (waited < 0 && errno == EINTR);
  return waited;
}

// Waits until the child ends or the time limit passes (a pidfd polled with a timeout; a 1 ms waitpid poll where
// pidfds are missing). Returns false when the limit passed: the child is then killed and reaped.
bool wait_within_limit(pid_t pid, int* status, double limit_s) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(limit_s));
  auto remaining_ms = [&] {
    return std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
  };
  bool ended = false;
  const int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));  // glibc 2.36's <sys/pidfd.h> lacks extern "C"
  if (fd >= 0) {
    while (true) {
      pollfd p{fd, POLLIN, 0};
      const int r = poll(&p, 1, static_cast<int>(std::min<int64_t>(remaining_ms(), 1 << 30)));
      if (r > 0) { ended = true; break; }
      if (r == 0 && remaining_ms() == 0) break;
      if (r < 0 && errno != EINTR) { ended = true; break; }  // cannot poll: fall back to an unlimited wait
    }
    close(fd);
  } else {
    while (!(ended = waitpid(pid, status, WNOHANG) == pid) && remaining_ms() > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (ended) return true;
  }
  if (!ended) kill(pid, SIGKILL);
  return wait_for(pid, status) == pid && ended;
}

}  // namespace

double isolated_time_limit() {
  double t = time_limit_s.load();
  if (t < 0) {
    const char* env = std::getenv("HATTN_READER_TIMEOUT_S");
    char* end = nullptr;
    const double v = env ? std::strtod(env, &end) : 0;
    t = env && end != env && *end == 0 && v > 0 ? v : kDefaultIsolatedTimeLimit;
    time_limit_s.store(t);
  }
  return t;
}

void set_isolated_time_limit(double seconds) { time_limit_s.store(seconds > 0 ? seconds : kDefaultIsolatedTimeLimit); }

void IsolatedOutput::fail(const std::string& why) {
  std::snprintf(reason, reason_capacity, "%s", why.c_str());
  reinterpret_cast<Header*>(data - kHeader)->verdict = 'F';
  _exit(2);
}

std::vector<uint8_t> run_isolated(const std::string& what, const char* action, size_t capacity,
                                  const std::function<void(IsolatedOutput&)>& work) {
  void* shared = mmap(nullptr, kHeader + capacity, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) throw InputError(str("'", what, "': cannot map ", capacity, " bytes for reading"));
  Header* header = static_cast<Header*>(shared);
  uint8_t* data = static_cast<uint8_t*>(shared) + kHeader;
  std::fflush(nullptr);  // nothing buffered may be written twice
  const pid_t pid = fork();
  if (pid == 0) {  // child
    IsolatedOutput out{data, capacity, 0, header->reason, kReason};
    try {
      work(out);
    } catch (const std::exception& e) {
      out.fail(e.what());
    }
    header->size = out.size;
    header->verdict = 'D';
    _exit(0);
  }
  int status = 0;
  const double limit = isolated_time_limit();
  const bool in_time = pid > 0 && wait_within_limit(pid, &status, limit);
  std::vector<uint8_t> result;
  const char verdict = header->verdict;
  const std::string reason(header->reason, strnlen(header->reason, kReason));
  if (in_time && WIFEXITED(status) && verdict == 'D' && header->size <= capacity)
    result.assign(data, data + header->size);
  munmap(shared, kHeader + capacity);
  if (pid < 0) throw InputError(str("'", what, "': cannot start the reader process"));
  if (!in_time)
    throw InputError(str("'", what, "' could not be ", action, ": the reader did not finish within ", limit,
                         " s and was stopped (HATTN_READER_TIMEOUT_S sets the limit; sanitizer and valgrind runs are slower)"));
  if (WIFSIGNALED(status))
    throw InputError(str("'", what, "' could not be ", action, ": the reader crashed (signal ", WTERMSIG(status),
                         ") on this malformed file"));
  HATTN_CHECK_INPUT(verdict == 'D', "'", what, "' could not be ", action, " (",
                    reason.empty() ? "no reason given" : reason, ")");
  return result;
}

}  // namespace ha
