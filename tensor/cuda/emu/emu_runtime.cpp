// CUDA emulation: block executor, device-memory arena and runtime API (see emu_runtime.h for what is real).
#include "tensor/cuda/emu/emu_runtime.h"

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

thread_local uint3 threadIdx;
thread_local uint3 blockIdx;
thread_local dim3 blockDim;
thread_local dim3 gridDim;

namespace ha::emu {
namespace {

thread_local cudaError_t last_error = cudaSuccess;

cudaError_t fail(cudaError_t e) {
  last_error = e;
  return e;
}

// Everything that touches device memory (launches, copies, memsets, the emulated cuBLAS) holds this lock:
// one in-order stream for the whole process. Recursive: the emulated cuBLAS holds it around its own work.
std::recursive_mutex& stream_lock() {
  static auto* m = new std::recursive_mutex;
  return *m;
}

// ---------------------------------------------------------------------------------------------------------
// Device memory: one reserved range, PROT_NONE except while device work runs. First fit over a free list.
constexpr size_t kArenaBytes = size_t(8) << 30;   // address space only (MAP_NORESERVE)
constexpr size_t kAlign = 256;                    // cudaMalloc's alignment

struct Arena {
  char* base = nullptr;
  size_t high_water = 0;                 // bytes from base ever handed out (page-rounded)
  std::map<size_t, size_t> free_ranges;  // offset -> bytes, coalesced
  struct Block {
    size_t bytes, reserved;  // as asked for; as set aside (rounded to kAlign)
  };
  std::map<size_t, Block> live;           // offset -> block
  int open_count = 0;                    // nested accesses (launch inside DeviceAccess)
};

Arena& arena() {
  static Arena* a = [] {
    auto* ar = new Arena;
    void* p = mmap(nullptr, kArenaBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      std::fprintf(stderr, "CUDA emulation: cannot reserve %zu bytes of address space for device memory\n",
                   kArenaBytes);
      std::abort();
    }
    ar->base = static_cast<char*>(p);
    ar->free_ranges[0] = kArenaBytes;
    return ar;
  }();
  return *a;
}

size_t page_round(size_t n) {
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  return (n + page - 1) / page * page;
}

void set_access(Arena& a, bool open) {
  if (a.high_water) mprotect(a.base, a.high_water, open ? PROT_READ | PROT_WRITE : PROT_NONE);
}

// Opens the arena for device work while alive (holding the stream lock).
struct Open {
  std::unique_lock<std::recursive_mutex> lock{stream_lock()};
  Open() {
    Arena& a = arena();
    if (a.open_count++ == 0) set_access(a, true);
  }
  ~Open() {
    Arena& a = arena();
    if (--a.open_count == 0) set_access(a, false);
  }
};

bool in_arena(const void* p) {
  const Arena& a = arena();
  auto c = static_cast<const char*>(p);
  return c >= a.base && c < a.base + kArenaBytes;
}

// A host access to the closed arena faults: say what happened, then die as the fault would have.
struct sigaction previous_segv;

void on_segv(int sig, siginfo_t* info, void* ctx) {
  if (in_arena(info->si_addr)) {
    char msg[256];
    const int n = std::snprintf(msg, sizeof msg,
                                "CUDA emulation: host code accessed device memory at %p (outside a kernel or a "
                                "cudaMemcpy): on a GPU this reads garbage or crashes\n",
                                info->si_addr);
    if (n > 0) (void)!write(2, msg, size_t(n));
  }
  sigaction(SIGSEGV, &previous_segv, nullptr);  // the fault repeats under the previous handler
  (void)sig;
  (void)ctx;
}

void install_segv_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &previous_segv);
  });
}

// ---------------------------------------------------------------------------------------------------------
// The block executor. Each CUDA thread of a block is a fiber (its own stack, switched to in user space by
// emu_switch below); the launching thread schedules them. A fiber runs until it returns or reaches
// __syncthreads; when every fiber has done one or the other, the barrier opens and the waiting ones run
// on. The schedule is deterministic and adversarial: each thread runs as far ahead of the others as the
// barriers allow, and the order alternates between ascending and descending thread index at every phase,
// so a read of shared memory that a missing barrier leaves unordered sees the wrong value in one of the
// two orders. Under ThreadSanitizer each fiber is a TSan fiber switched to without synchronisation, and
// only the barrier (and the start and end of a block) orders them: a missing barrier is reported as a race.
// Fibers and their stacks are made once and reused by every launch.
#if !defined(__x86_64__)
#error "the CUDA emulation's fiber switch (emu_switch) is written for x86-64"
#endif
extern "C" void hattn_emu_switch(void** save_sp, void* load_sp);
extern "C" void hattn_emu_fiber_entry();
// Saves the callee-saved registers and the stack pointer in *save_sp, loads load_sp's. A new fiber's
// stack is made to "return" into hattn_emu_fiber_entry, which calls r13(r12).
asm(R"(
  .text
  .globl hattn_emu_switch
  .hidden hattn_emu_switch
  .type hattn_emu_switch, @function
hattn_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size hattn_emu_switch, .-hattn_emu_switch
  .globl hattn_emu_fiber_entry
  .hidden hattn_emu_fiber_entry
  .type hattn_emu_fiber_entry, @function
hattn_emu_fiber_entry:
  movq %r12, %rdi
  callq *%r13
  ud2
  .size hattn_emu_fiber_entry, .-hattn_emu_fiber_entry
)");

#if defined(__SANITIZE_THREAD__)
void* tsan_current_fiber() { return __tsan_get_current_fiber(); }
void* tsan_create_fiber() { return __tsan_create_fiber(0); }
void tsan_switch(void* fiber) { __tsan_switch_to_fiber(fiber, __tsan_switch_to_fiber_no_sync); }
void tsan_release(void* addr) { __tsan_release(addr); }
void tsan_acquire(void* addr) { __tsan_acquire(addr); }
#define HATTN_NO_TSAN __attribute__((no_sanitize_thread))
#else
#define HATTN_NO_TSAN
void* tsan_current_fiber() { return nullptr; }
void* tsan_create_fiber() { return nullptr; }
void tsan_switch(void*) {}
void tsan_release(void*) {}
void tsan_acquire(void*) {}
#endif

int watchdog_seconds() {
  static const int s = [] {
    const char* v = std::getenv("HATTN_EMU_WATCHDOG_S");
    const int n = v ? std::atoi(v) : 0;
    return n > 0 ? n : 120;
  }();
  return s;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class Executor {
 public:
  void run(const char* name, dim3 grid, dim3 block, size_t shared_bytes, const KernelBody& body) {
    const unsigned count = block.x * block.y * block.z;
    const uint64_t blocks = uint64_t(grid.x) * grid.y * grid.z;
    const unsigned resident = unsigned(std::min<uint64_t>(kResidentBlocks, blocks));
    slots_.resize(std::max<size_t>(slots_.size(), resident));
    for (unsigned s = 0; s < resident; ++s)
      while (slots_[s].fibers.size() < count) slots_[s].fibers.push_back(make_fiber(unsigned(slots_[s].fibers.size())));
    gridDim = grid;
    blockDim = block;
    body_ = &body;
    name_.store(name);
    start_watchdog();
    // descending at one launch, ascending at the next
    const bool descending = launches_++ % 2 == 0;
    uint64_t next = 0;
    auto start_next = [&](Slot& slot) {
      if (next == blocks) return false;
      const uint64_t linear = descending ? blocks - 1 - next : next;
      ++next;
      slot.linear = linear;
      slot.index = {unsigned(linear % grid.x), unsigned(linear / grid.x % grid.y), unsigned(linear / grid.x / grid.y)};
      slot.phase = 0;
      slot.array_count = 0;  // HATTN_SHARED_ARRAY variables are placed (and made garbage) as the block reaches them
      slot.static_bytes = 0;
      slot.dynamic.assign((shared_bytes + 15) / 16, Chunk{});
      std::memset(slot.dynamic.data(), 0xFF, slot.dynamic.size() * sizeof(Chunk));  // garbage, as on a GPU
      for (unsigned i = 0; i < count; ++i) set_state(slot.fibers[i].get(), State::Ready);
      return true;
    };
    std::vector<unsigned> active;
    for (unsigned s = 0; s < resident; ++s)
      if (start_next(slots_[s])) active.push_back(s);
    for (uint64_t round = 0; !active.empty(); ++round) {
      std::vector<unsigned> still;
      for (unsigned k = 0; k < active.size(); ++k) {
        const unsigned s = active[round % 2 ? active.size() - 1 - k : k];
        if (run_phase(s, count) || start_next(slots_[s])) still.push_back(s);
      }
      std::sort(still.begin(), still.end());
      active.swap(still);
    }
    name_.store(nullptr);
    body_ = nullptr;
    if (!error_.empty()) {
      std::fprintf(stderr, "CUDA emulation: kernel %s: %s\n", name, error_.c_str());
      error_.clear();
      last_error = cudaErrorLaunchFailure;
    }
  }

  void* dynamic_shared() { return current_slot_ ? current_slot_->dynamic.data() : nullptr; }

  // Runs on the fibers. The placement is the emulation's bookkeeping, not the kernel's memory traffic, so TSan
  // does not see it (plain arrays and a volatile fill, no instrumented library calls): the first thread to reach
  // a declaration is not ordered before the others, and TSan would report a race between them.
  HATTN_NO_TSAN void* shared_array(const void* key, size_t bytes, size_t align) {
    Slot* slot = current_slot_;
    if (!slot) {
      std::fprintf(stderr, "CUDA emulation: a shared array declared outside a kernel\n");
      std::abort();
    }
    unsigned char* arena = slot->arena.get();
    for (unsigned i = 0; i < slot->array_count; ++i)
      if (slot->array_keys[i] == key) return arena + slot->array_offsets[i];
    const size_t at = (slot->static_bytes + align - 1) / align * align;
    if (at + bytes + slot->dynamic.size() * sizeof(Chunk) > kSharedBytes || slot->array_count == kMaxSharedArrays)
      fail_kernel("uses more than 48 KB of shared memory per block (static and dynamic), or more than 64 arrays");
    slot->static_bytes = at + bytes;
    slot->array_keys[slot->array_count] = key;
    slot->array_offsets[slot->array_count++] = at;
    volatile unsigned char* p = arena + at;
    for (size_t i = 0; i < bytes; ++i) p[i] = 0xFF;  // garbage, as a block's shared memory starts
    return arena + at;
  }

  // __syncthreads, on the fiber that reached it
  HATTN_NO_TSAN void barrier(const char* file, int line) {
    Fiber* f = current_;
    if (!f) {
      std::fprintf(stderr, "CUDA emulation: __syncthreads called outside a kernel\n");
      std::abort();
    }
    f->barrier_file = file;
    f->barrier_line = line;
    set_state(f, State::AtBarrier);
    char* sync = &barrier_sync_[phase_ % 2];  // this phase's; the next phase releases into the other
    tsan_release(sync);
    to_scheduler(f);
    tsan_acquire(&resume_sync_);
    tsan_acquire(sync);
  }

 private:
  enum class State { Ready, AtBarrier, Done };
  struct Fiber {
    void* sp = nullptr;
    unsigned id = 0;
    State state = State::Done;
    void* tsan = nullptr;
    const char* barrier_file = nullptr;  // where it waits
    int barrier_line = 0;
    std::string error;  // why its run of the kernel failed
  };
  struct alignas(16) Chunk {
    unsigned char b[16];
  };
  static constexpr size_t kSharedBytes = 48 * 1024;  // per block without an opt-in, as on a GPU
  static constexpr unsigned kMaxSharedArrays = 64;
  // A resident block: its threads, its shared memory, how far it got.
  struct Slot {
    std::vector<std::unique_ptr<Fiber>> fibers;
    uint3 index;
    uint64_t linear = 0, phase = 0;
    std::unique_ptr<unsigned char[]> arena = std::make_unique<unsigned char[]>(kSharedBytes);  // HATTN_SHARED_ARRAYs
    const void* array_keys[kMaxSharedArrays] = {};  // declaration -> offset in the arena
    size_t array_offsets[kMaxSharedArrays] = {};
    unsigned array_count = 0;
    size_t static_bytes = 0;
    std::vector<Chunk> dynamic;
  };
  static constexpr size_t kStackBytes = size_t(256) << 10;  // address space; pages are touched on use

  static void fiber_main(Fiber* f);
  // Ends the thread's run of the kernel: the launch fails with `what`.
  [[noreturn]] static void fail_kernel(const char* what) { throw std::runtime_error(what); }

  // The scheduler's bookkeeping of a fiber's state is not a communication TSan should see: if the
  // scheduler acquired the fibers' histories through it, it would pass them on to the next fiber it
  // resumes and hide the races between CUDA threads that TSan is here to find.
  static HATTN_NO_TSAN void set_state(Fiber* f, State s) { f->state = s; }
  static HATTN_NO_TSAN State state_of(const Fiber* f) { return f->state; }
  // Likewise what the scheduler publishes to the fiber it resumes: its reads of these must not order the
  // scheduler after it (TSan would report the next write as racing with them otherwise).
  HATTN_NO_TSAN void set_current(Fiber* f) {
    current_ = f;
    if (f) threadIdx = {f->id % blockDim.x, (f->id / blockDim.x) % blockDim.y, f->id / (blockDim.x * blockDim.y)};
  }
  HATTN_NO_TSAN void set_block(Slot* slot) {
    current_slot_ = slot;
    blockIdx = slot->index;
    block_index_ = slot->index;
    phase_ = slot->phase;
  }

  std::unique_ptr<Fiber> make_fiber(unsigned id) {
    const size_t page = size_t(sysconf(_SC_PAGESIZE));
    void* mem = mmap(nullptr, kStackBytes + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                     -1, 0);
    if (mem == MAP_FAILED) {
      std::fprintf(stderr, "CUDA emulation: cannot map a stack for thread %u\n", id);
      std::abort();
    }
    mprotect(mem, page, PROT_NONE);  // guard page: a stack overflow faults instead of corrupting
    auto f = std::make_unique<Fiber>();
    f->id = id;
    f->tsan = tsan_create_fiber();
    // The first switch pops r15, r14, r13 (entry), r12 (fiber), rbx, rbp and returns to fiber_entry with
    // the stack 16-byte aligned, as a call expects.
    auto* top = reinterpret_cast<uintptr_t*>(static_cast<char*>(mem) + page + kStackBytes);
    uintptr_t* sp = top - 9;
    sp[0] = 0;
    sp[1] = 0;
    sp[2] = reinterpret_cast<uintptr_t>(&Executor::fiber_main);
    sp[3] = reinterpret_cast<uintptr_t>(f.get());
    sp[4] = 0;
    sp[5] = 0;
    sp[6] = reinterpret_cast<uintptr_t>(&hattn_emu_fiber_entry);
    f->sp = sp;
    return f;
  }

  HATTN_NO_TSAN void resume(Fiber* f) {
    set_current(f);
    scheduler_tsan_ = tsan_current_fiber();
    void* sp = f->sp;
    tsan_release(&resume_sync_);  // what the scheduler wrote (threadIdx, current_, ...) reaches the fiber
    tsan_switch(f->tsan);
    hattn_emu_switch(&scheduler_sp_, sp);
    set_current(nullptr);
  }

  HATTN_NO_TSAN void to_scheduler(Fiber* f) {
    tsan_switch(scheduler_tsan_);
    hattn_emu_switch(&f->sp, scheduler_sp_);
  }

  // Runs one barrier phase of slot s's block: every ready thread until it waits or returns. False when the
  // block has finished.
  bool run_phase(unsigned s, unsigned count) {
    Slot& slot = slots_[s];
    set_block(&slot);
    block_started_ms_.store(now_ms());
    const bool ascending = (slot.linear + slot.phase) % 2 == 0;
    for (unsigned k = 0; k < count; ++k) {
      Fiber* f = slot.fibers[ascending ? k : count - 1 - k].get();
      if (state_of(f) == State::Ready) resume(f);
    }
    tsan_acquire(&barrier_sync_[slot.phase % 2]);  // a barrier orders the phase before everything after it
    tsan_acquire(&done_sync_);
    const Fiber* first = nullptr;  // every thread that has not returned waits at one barrier: open it
    for (unsigned i = 0; i < count; ++i) {
      Fiber* f = slot.fibers[i].get();
      if (!f->error.empty()) {
        if (error_.empty()) error_ = "thread " + std::to_string(f->id) + " " + f->error;
        f->error.clear();
      }
      if (state_of(f) != State::AtBarrier) continue;
      if (!first) {
        first = f;
      } else if ((f->barrier_line != first->barrier_line || std::strcmp(f->barrier_file, first->barrier_file)) &&
                 error_.empty()) {
        char msg[512];
        std::snprintf(msg, sizeof msg, "a barrier reached on divergent paths in block (%u, %u, %u): thread %u waits "
                      "at %s:%d, thread %u at %s:%d", slot.index.x, slot.index.y, slot.index.z, first->id,
                      first->barrier_file, first->barrier_line, f->id, f->barrier_file, f->barrier_line);
        error_ = msg;
      }
      set_state(f, State::Ready);
    }
    ++slot.phase;
    block_started_ms_.store(0);
    current_slot_ = nullptr;
    return first != nullptr;
  }

  // A kernel that loops forever never returns to the scheduler: a watchdog thread names it and stops.
  void start_watchdog() {
    static std::once_flag once;
    std::call_once(once, [this] {
      std::thread([this] {
        for (;;) {
          std::this_thread::sleep_for(std::chrono::milliseconds(500));
          const int64_t t0 = block_started_ms_.load();
          const char* name = name_.load();
          if (t0 && name && now_ms() - t0 > 1000LL * watchdog_seconds()) {
            std::fprintf(stderr,
                         "CUDA emulation: kernel %s, block (%u, %u, %u), did not finish within %d s (an endless "
                         "loop?); stopping\n",
                         name, block_index_.x, block_index_.y, block_index_.z, watchdog_seconds());
            std::fflush(stderr);
            std::abort();
          }
        }
      }).detach();
    });
  }

  std::vector<Slot> slots_;
  Slot* current_slot_ = nullptr;
  uint64_t launches_ = 0;
  const KernelBody* body_ = nullptr;
  Fiber* current_ = nullptr;
  void* scheduler_sp_ = nullptr;
  void* scheduler_tsan_ = nullptr;
  std::string error_;
  uint3 block_index_;
  std::atomic<const char*> name_{nullptr};
  std::atomic<int64_t> block_started_ms_{0};
  uint64_t phase_ = 0;  // barrier phase of the running block
  char resume_sync_ = 0, done_sync_ = 0, barrier_sync_[2] = {};  // addresses for TSan's happens-before
};

Executor& executor() {
  static auto* e = new Executor;  // never destroyed: kernels may run during static destruction
  return *e;
}

void Executor::fiber_main(Fiber* f) {
  Executor& ex = executor();
  for (;;) {
    tsan_acquire(&ex.resume_sync_);
    try {
      ex.body_->run_thread();
    } catch (const std::exception& e) {
      f->error = std::string("threw: ") + e.what();  // its own: the fibers of a phase are not ordered
    } catch (...) {
      f->error = "threw an exception";
    }
    set_state(f, State::Done);  // a returned thread leaves the barrier
    tsan_release(&ex.done_sync_);
    ex.to_scheduler(f);
  }
}

int device_total() {
  static const int n = [] {
    const char* v = std::getenv("HATTN_EMU_DEVICES");
    return v ? std::max(0, std::atoi(v)) : 1;
  }();
  return n;
}

thread_local int current_device = 0;

}  // namespace

namespace {

struct KernelResources {
  const char* name;
  int registers, launch_bound, largest_block, static_shared;
};
// ptxas's numbers for sm_90, the worst over each kernel's instantiations, the __launch_bounds__ from the PTX, and
// the largest block they allow (scripts/cuda_resources.sh).
const KernelResources kKernelResources[] = {
#include "kernel_resources.inc"
    {nullptr, 0, 0, 0, 0}};

}  // namespace

bool launch_resources_known() { return kKernelResources[0].name != nullptr; }

std::string launch_resource_error(const char* kernel, unsigned threads, size_t dynamic_bytes) {
  std::string base(kernel);  // the name without template arguments or namespaces
  base = base.substr(0, base.find('<'));
  if (const size_t c = base.rfind("::"); c != std::string::npos) base = base.substr(c + 2);
  while (!base.empty() && base.back() == ' ') base.pop_back();
  for (const KernelResources& k : kKernelResources) {
    if (!k.name || base != k.name) continue;
    if (threads > unsigned(k.launch_bound))
      return "too many resources requested for launch: " + std::to_string(threads) + " threads per block, over its " +
             "__launch_bounds__ (" + std::to_string(k.launch_bound) + ")";
    if (threads > unsigned(k.largest_block))
      return "too many resources requested for launch: " + std::to_string(k.registers) + " registers per thread " +
             "allow at most " + std::to_string(k.largest_block) + " threads per block, launched with " +
             std::to_string(threads);
    if (size_t(k.static_shared) + dynamic_bytes > 48 * 1024)
      return "too much shared memory: " + std::to_string(k.static_shared) + " static + " +
             std::to_string(dynamic_bytes) + " dynamic bytes per block, over 48 KB";
    return "";
  }
  return "";
}

void execute(const char* name, dim3 grid, dim3 block, size_t shared_bytes, const KernelBody& body) {
  const unsigned long long threads = 1ull * block.x * block.y * block.z;
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || threads == 0 || threads > 1024 || block.z > 64 ||
      grid.y > 65535 || grid.z > 65535 || shared_bytes > 48 * 1024) {
    std::fprintf(stderr, "CUDA emulation: invalid launch configuration for %s: grid (%u, %u, %u), block (%u, %u, %u), "
                 "%zu shared bytes\n", name, grid.x, grid.y, grid.z, block.x, block.y, block.z, shared_bytes);
    fail(cudaErrorInvalidConfiguration);
    return;
  }
  if (!launch_resources_known()) {
    static std::once_flag once;
    std::call_once(once, [] {
      std::fprintf(stderr, "CUDA emulation: launches are not checked against the kernels' bounds, registers and shared memory (no nvcc at build time)\n");
    });
  } else if (const std::string why = launch_resource_error(name, unsigned(threads), shared_bytes); !why.empty()) {
    std::fprintf(stderr, "CUDA emulation: %s: %s\n", name, why.c_str());
    fail(cudaErrorLaunchOutOfResources);
    return;
  }
  Open open;
  executor().run(name, grid, block, shared_bytes, body);
}

void* dynamic_shared() { return executor().dynamic_shared(); }

DeviceAccess::DeviceAccess() {
  stream_lock().lock();
  Arena& a = arena();
  if (a.open_count++ == 0) set_access(a, true);
}

DeviceAccess::~DeviceAccess() {
  Arena& a = arena();
  if (--a.open_count == 0) set_access(a, false);
  stream_lock().unlock();
}

bool is_device_range(const void* p, size_t nbytes) {
  std::lock_guard<std::recursive_mutex> lk(stream_lock());
  if (!in_arena(p)) return false;
  const Arena& a = arena();
  const size_t off = size_t(static_cast<const char*>(p) - a.base);
  auto it = a.live.upper_bound(off);
  if (it == a.live.begin()) return false;
  --it;
  return off + nbytes <= it->first + it->second.bytes;
}

}  // namespace ha::emu

void ha::emu::syncthreads_at(const char* file, int line) { executor().barrier(file, line); }

void* ha::emu::shared_array(const void* key, size_t bytes, size_t align) {
  return executor().shared_array(key, bytes, align);
}
// ---------------------------------------------------------------------------------------------------------
// The runtime API
using namespace ha::emu;

const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
  }
  return "unknown error";
}

cudaError_t cudaGetLastError() {
  const cudaError_t e = last_error;
  last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() { return last_error; }

cudaError_t cudaGetDeviceCount(int* n) {
  *n = device_total();
  return *n > 0 ? cudaSuccess : fail(cudaErrorNoDevice);
}

cudaError_t cudaSetDevice(int device) {
  if (device < 0 || device >= device_total()) return fail(cudaErrorInvalidDevice);
  current_device = device;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (!prop || device < 0 || device >= device_total()) return fail(cudaErrorInvalidDevice);
  *prop = {};
  std::snprintf(prop->name, sizeof prop->name, "HiddenAttn CUDA emulation (host C++, not a GPU)");
  prop->multiProcessorCount = 1;
  prop->totalGlobalMem = kArenaBytes;
  prop->maxThreadsPerBlock = 1024;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  *device = current_device;
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }  // every launch and copy completes before returning

cudaError_t cudaMalloc(void** p, size_t nbytes) {
  if (!p) return fail(cudaErrorInvalidValue);
  if (device_total() == 0) return fail(cudaErrorNoDevice);
  install_segv_handler();
  Open open;
  Arena& a = arena();
  const size_t want = (std::max<size_t>(nbytes, 1) + kAlign - 1) / kAlign * kAlign;
  for (auto it = a.free_ranges.begin(); it != a.free_ranges.end(); ++it) {
    if (it->second < want) continue;
    const size_t off = it->first, rest = it->second - want;
    a.free_ranges.erase(it);
    if (rest) a.free_ranges[off + want] = rest;
    a.live[off] = {nbytes, want};
    const size_t end = page_round(off + want);
    if (end > a.high_water) {
      mprotect(a.base + a.high_water, end - a.high_water, PROT_READ | PROT_WRITE);
      a.high_water = end;
    }
    std::memset(a.base + off, 0xFF, want);  // NaN in every float type: uninitialised reads show
    *p = a.base + off;
    return cudaSuccess;
  }
  *p = nullptr;
  return fail(cudaErrorMemoryAllocation);
}

cudaError_t cudaFree(void* p) {
  if (!p) return cudaSuccess;
  std::lock_guard<std::recursive_mutex> lk(stream_lock());
  Arena& a = arena();
  if (!in_arena(p)) return fail(cudaErrorInvalidValue);
  const size_t off = size_t(static_cast<char*>(p) - a.base);
  auto it = a.live.find(off);
  if (it == a.live.end()) return fail(cudaErrorInvalidValue);
  size_t start = off, len = it->second.reserved;
  a.live.erase(it);
  const size_t page = size_t(sysconf(_SC_PAGESIZE)), first = page_round(off), last = (off + len) / page * page;
  if (last > first) madvise(a.base + first, last - first, MADV_DONTNEED);  // give whole pages back
  auto next = a.free_ranges.lower_bound(start);
  if (next != a.free_ranges.end() && next->first == start + len) {
    len += next->second;
    next = a.free_ranges.erase(next);
  }
  if (next != a.free_ranges.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == start) {
      start = prev->first;
      len += prev->second;
      a.free_ranges.erase(prev);
    }
  }
  a.free_ranges[start] = len;
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t nbytes, cudaMemcpyKind kind) {
  if (nbytes == 0) return cudaSuccess;
  if (kind == cudaMemcpyDefault) {
    const bool d = in_arena(dst), s = in_arena(src);
    kind = d ? (s ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
             : (s ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  }
  const bool dst_device = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool src_device = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  Open open;
  if ((dst_device ? !is_device_range(dst, nbytes) : in_arena(dst)) ||
      (src_device ? !is_device_range(src, nbytes) : in_arena(src))) {
    std::fprintf(stderr, "CUDA emulation: cudaMemcpy of %zu bytes from %p to %p does not match its kind %d (or runs "
                 "past a device allocation)\n", nbytes, src, dst, int(kind));
    return fail(cudaErrorInvalidValue);
  }
  std::memmove(dst, src, nbytes);
  return cudaSuccess;
}

cudaError_t cudaMemset(void* dst, int value, size_t nbytes) {
  if (nbytes == 0) return cudaSuccess;
  Open open;
  if (!is_device_range(dst, nbytes)) return fail(cudaErrorInvalidValue);
  std::memset(dst, value, nbytes);
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  std::lock_guard<std::recursive_mutex> lk(stream_lock());
  size_t used = 0;
  for (const auto& [off, block] : arena().live) used += block.reserved;
  *total_bytes = kArenaBytes;
  *free_bytes = kArenaBytes - used;
  return cudaSuccess;
}

struct CUstream_st {};
struct CUevent_st {
  std::chrono::steady_clock::time_point at;
  bool recorded = false;
};

cudaError_t cudaStreamCreate(cudaStream_t* s) {
  *s = new CUstream_st;
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
  delete s;
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaEventCreate(cudaEvent_t* e) {
  *e = new CUevent_st;
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
  delete e;
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t) {
  if (!e) return fail(cudaErrorInvalidValue);
  e->at = std::chrono::steady_clock::now();
  e->recorded = true;
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t e) { return e ? cudaSuccess : fail(cudaErrorInvalidValue); }
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (!ms || !start || !end || !start->recorded || !end->recorded) return fail(cudaErrorInvalidValue);
  *ms = std::chrono::duration<float, std::milli>(end->at - start->at).count();
  return cudaSuccess;
}
