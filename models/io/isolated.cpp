#include "models/io/isolated.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>

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

}  // namespace

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
  pid_t waited = -1;
  if (pid > 0)  // a signal (a profiler's or libFuzzer's timer) may interrupt the wait: wait again, or the child
    do waited = waitpid(pid, &status, 0);  // would be left a zombie and a good file reported as an error
    while (waited < 0 && errno == EINTR);
  std::vector<uint8_t> result;
  const char verdict = header->verdict;
  const std::string reason(header->reason, strnlen(header->reason, kReason));
  if (pid > 0 && waited == pid && WIFEXITED(status) && verdict == 'D' && header->size <= capacity)
    result.assign(data, data + header->size);
  munmap(shared, kHeader + capacity);
  if (pid < 0 || waited != pid) throw InputError(str("'", what, "': cannot start the reader process"));
  if (WIFSIGNALED(status))
    throw InputError(str("'", what, "' could not be ", action, ": the reader crashed (signal ", WTERMSIG(status),
                         ") on this malformed file"));
  HATTN_CHECK_INPUT(verdict == 'D', "'", what, "' could not be ", action, " (",
                    reason.empty() ? "no reason given" : reason, ")");
  return result;
}

}  // namespace ha
