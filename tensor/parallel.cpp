#include "tensor/parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace ha {
namespace {

int default_threads() {
  if (const char* env = std::getenv("HATTN_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw ? static_cast<int>(hw) : 1;
}

// A kernel's parallel_fors come in quick succession (thousands a second in training), and a futex sleep and
// wake costs more than the gap between two of them: a thread with nothing to do spins this long, watching for
// the next job (or its job's end), before it sleeps.
constexpr auto kSpin = std::chrono::microseconds(50);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// True as soon as ready() is; false when kSpin passes first.
template <class Ready>
bool spin_until(Ready ready) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (int i = 1;; ++i) {
    if (ready()) return true;
    cpu_relax();
    if (i % 64 == 0 && std::chrono::steady_clock::now() > deadline) return false;
  }
}

// One parallel_for: its range cut into `chunks` pieces, claimed one at a time by whichever threads are free.
// It lives on the caller's stack; `users` counts the pool threads holding a pointer to it, and the caller
// returns only when every chunk is done and no thread holds it.
struct Job {
  const std::function<void(int64_t, int64_t)>* fn;
  int64_t n, chunk, chunks;
  std::atomic<int64_t> next{0}, done{0};
  std::atomic<int> users{0};  // changed with the pool's mutex held; read without it only to decide to spin
  std::mutex error_mu;
  std::exception_ptr error;
};

class Pool {
 public:
  explicit Pool(int n) { resize(n); }
  ~Pool() { stop(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int n) {
    stop();
    stopping_ = false;
    for (int i = 1; i < n; ++i) workers_.emplace_back([this] { loop(); });
  }

  // Runs every chunk of job, the caller included, and returns when all are done.
  void run(Job& job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_.push_back(&job);
      open_count_.store(static_cast<int>(open_.size()));
    }
    work_cv_.notify_all();
    claim_chunks(job);
    {
      std::lock_guard<std::mutex> lock(mu_);
      close(job);
    }
    const auto finished = [&] { return job.done.load() == job.chunks && job.users.load() == 0; };
    spin_until(finished);
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, finished);
  }

 private:
  // Claims and runs chunks of job until none is left unclaimed.
  void claim_chunks(Job& job) {
    for (int64_t c; (c = job.next.fetch_add(1)) < job.chunks;) {
      const int64_t b = c * job.chunk, e = std::min(job.n, b + job.chunk);
      try {
        (*job.fn)(b, e);
      } catch (...) {
        std::lock_guard<std::mutex> lock(job.error_mu);
        if (!job.error) job.error = std::current_exception();
      }
      if (job.done.fetch_add(1) + 1 == job.chunks) {
        { std::lock_guard<std::mutex> lock(mu_); }  // a waiter between its check and its wait sees the count
        done_cv_.notify_all();
      }
    }
  }

  // With mu_ held: job has no unclaimed chunk left (or its owner is done claiming), so nobody should pick it.
  void close(Job& job) {
    auto it = std::find(open_.begin(), open_.end(), &job);
    if (it != open_.end()) open_.erase(it);
    open_count_.store(static_cast<int>(open_.size()));
  }

  void loop() {
    for (;;) {
      Job* job;
      spin_until([&] { return open_count_.load() > 0; });
      {
        std::unique_lock<std::mutex> lock(mu_);
        work_cv_.wait(lock, [&] { return stopping_ || !open_.empty(); });
        if (stopping_) return;
        job = open_.back();  // the newest job: usually the innermost of nested parallel_fors
        job->users.fetch_add(1);
      }
      claim_chunks(*job);
      std::lock_guard<std::mutex> lock(mu_);
      close(*job);
      if (job->users.fetch_sub(1) == 1 && job->done.load() == job->chunks) done_cv_.notify_all();
    }
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    work_cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::vector<Job*> open_;  // jobs that may have unclaimed chunks
  std::atomic<int> open_count_{0};  // open_.size(), for spinning threads to watch without the mutex
  bool stopping_ = false;
};

Pool& pool() {
  static Pool p(default_threads());
  return p;
}

std::mutex g_resize_mu;

}  // namespace

int num_threads() { return pool().size(); }

void set_num_threads(int n) {
  std::lock_guard<std::mutex> lock(g_resize_mu);
  pool().resize(std::max(1, n));
}

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  // The split depends on n and grain only, never on the thread count, so that every kernel computes the
  // same thing with 1 or 64 threads; kMaxChunks leaves work to share out on many cores.
  constexpr int64_t kMaxChunks = 64;
  grain = std::max<int64_t>(grain, 1);
  const int64_t chunks = std::min<int64_t>((n + grain - 1) / grain, kMaxChunks);
  const int64_t chunk = (n + chunks - 1) / chunks;
  if (chunks == 1) {
    fn(0, n);
    return;
  }
  if (num_threads() == 1) {
    for (int64_t b = 0; b < n; b += chunk) fn(b, std::min(n, b + chunk));
    return;
  }
  Job job;
  job.fn = &fn;
  job.n = n;
  job.chunk = chunk;
  job.chunks = (n + chunk - 1) / chunk;
  pool().run(job);
  if (job.error) std::rethrow_exception(job.error);
}

}  // namespace ha
