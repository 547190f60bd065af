// CUDA emulation: the part of the CUDA runtime and of the device language that our kernels use, as host C++.
// `make cuda-emu` compiles every .cu file against this header instead of NVIDIA's, so the kernels and all the
// device plumbing above them run and are tested on machines without a GPU.
//
// What is real here (tensor/cuda/emu/emu_runtime.cpp has the details):
// - Blocks run concurrently: up to kResidentBlocks (3) of them are resident at once, like blocks sharing an SM, and
//   they advance in turns, one barrier phase each, so one block's writes land between another's phases. The
//   grid is taken in descending order at one launch and ascending at the next: a block that reads what another
//   block of the same launch writes (a race on a GPU) reads it unwritten under one of the two orders.
// - The threads of a block are fibers on the launching thread, scheduled adversarially: each runs as far as the
//   barriers allow, in ascending then descending thread order at alternate phases, so a missing __syncthreads
//   makes one of the two orders read the wrong value (and, under ThreadSanitizer, where each fiber is a TSan
//   fiber, a reported race).
// - Barriers. A thread that returns leaves the barrier: the others' __syncthreads go on without it, which is
//   what the hardware does (exited threads no longer count at a bar.sync) though the programming guide does not
//   promise it. A barrier reached on divergent paths (the threads of one phase waiting at different
//   __syncthreads) is undefined on a GPU (a hang or garbage); here it fails the launch, naming both call sites.
//   Call sites are all it sees: threads at the same __syncthreads in different iterations of a loop, or in one
//   helper reached from two branches, pass.
// - Shared memory is the block's own and starts as garbage: each resident block has an arena from which its
//   HATTN_SHARED_ARRAY variables are placed, filled with NaN bytes (0xFF) when the block first reaches them;
//   dynamic shared memory likewise at the block's start. A read of shared memory that no thread of the block
//   wrote reads NaN. (A plain `__shared__` variable, a static here, would be one for all blocks: it does not
//   compile.)
// - Device memory is a separate arena that is inaccessible (PROT_NONE) outside kernels and copies: host
//   code that dereferences a device pointer stops with a message naming the address. New allocations are
//   filled with NaN bytes (0xFF), so reading memory nothing wrote shows up.
// - cudaMemcpy checks that each side is where its kind says and that device ranges lie in one allocation.
// - Launch configurations are validated as the hardware does (at most 1024 threads per block, ...), and against
//   each kernel's __launch_bounds__, registers and static shared memory as nvcc compiles it for sm_90 (a block of
//   more threads than its bounds or its registers allow fails with cudaErrorLaunchOutOfResources), when nvcc was
//   there at build time.
// - A block that does not finish within HATTN_EMU_WATCHDOG_S seconds (default 120) stops the process
//   with the kernel's name: a hung kernel fails its test instead of stalling it.
// What only a GPU shows: speed, memory coalescing, warp-level behaviour (none of our kernels uses warp
// shuffles, votes or atomics; adding one means adding it here too), occupancy. ThreadSanitizer sees the barriers as orderings between
// all resident blocks, so it names races within a block; races between blocks show through the orders above.
#pragma once
#include <math.h>  // the float overloads of exp, log, ... in the global namespace, as in device code

#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

// ---------------------------------------------------------------------------------------------------------
// The device language
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
// Kernels declare shared memory with HATTN_SHARED_ARRAY (tensor/cuda/runtime.h), which the emulation places per
// block; a plain __shared__ variable would be one static for every block.
#define __shared__ static_assert(false, "declare shared memory with HATTN_SHARED_ARRAY(T, name, n) under emulation");
#define __align__(n) alignas(n)
#define __launch_bounds__(...)

struct uint3 {
  unsigned x = 0, y = 0, z = 0;
};
struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

// Per OS thread: set by the block executor before the thread runs its part of a block.
extern thread_local uint3 threadIdx;
extern thread_local uint3 blockIdx;
extern thread_local dim3 blockDim;
extern thread_local dim3 gridDim;

// __syncthreads, identified by its call site so that a barrier reached on divergent paths is found.
namespace ha::emu {
void syncthreads_at(const char* file, int line);
}
#define __syncthreads() ::ha::emu::syncthreads_at(__FILE__, __LINE__)

// Device math that host C++ lacks under these names (only what the kernels call: add a function here when a
// kernel needs it).
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline long min(long a, long b) { return a < b ? a : b; }
inline long max(long a, long b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }

// ---------------------------------------------------------------------------------------------------------
// The runtime API (the subset we call), same names and meanings.
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorLaunchOutOfResources = 701,
  cudaErrorLaunchFailure = 719,
};
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};
struct CUstream_st;
struct CUevent_st;
using cudaStream_t = CUstream_st*;
using cudaEvent_t = CUevent_st*;

struct cudaDeviceProp {
  char name[256];
  int multiProcessorCount;
  size_t totalGlobalMem;
  int maxThreadsPerBlock;
};

const char* cudaGetErrorString(cudaError_t e);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
cudaError_t cudaGetDeviceCount(int* n);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaMalloc(void** p, size_t nbytes);
template <class T>
cudaError_t cudaMalloc(T** p, size_t nbytes) {
  return cudaMalloc(reinterpret_cast<void**>(p), nbytes);
}
cudaError_t cudaFree(void* p);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t nbytes, cudaMemcpyKind kind);
cudaError_t cudaMemset(void* dst, int value, size_t nbytes);
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes);
cudaError_t cudaStreamCreate(cudaStream_t* s);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaEventCreate(cudaEvent_t* e);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s = nullptr);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end);

// ---------------------------------------------------------------------------------------------------------
// Kernel launches (HATTN_LAUNCH in tensor/cuda/runtime.h).
namespace ha::emu {

// One thread's run of a kernel: its own copy of the parameters, as each GPU thread reads them by value.
struct KernelBody {
  virtual void run_thread() const = 0;
  virtual ~KernelBody() = default;
};

// Runs the grid (validated; an invalid configuration becomes the launch's error, as on a GPU).
void execute(const char* name, dim3 grid, dim3 block, size_t shared_bytes, const KernelBody& body);
// Why a GPU would refuse to launch `kernel` (the launch's kernel expression) with `threads` per block and
// `dynamic_bytes` of dynamic shared memory, from its __launch_bounds__ and ptxas's registers and static shared
// memory for sm_90 (generated
// at build time when nvcc is present: kernel_resources.inc); empty when it would launch, or when the kernel is not
// in the table (a test's own kernels; every kernel when nvcc was missing).
std::string launch_resource_error(const char* kernel, unsigned threads, size_t dynamic_bytes);
// Whether the table has any kernel (false: built without nvcc, launches unchecked).
bool launch_resources_known();

// Blocks resident at once. Under ThreadSanitizer one: TSan is there for the races within a block, and its cost
// grows with the number of fibers (each a TSan thread); the plain emulated run covers the interleaving.
#if defined(__SANITIZE_THREAD__)
constexpr unsigned kResidentBlocks = 1;
#else
constexpr unsigned kResidentBlocks = 3;
#endif
// The running block's array for the HATTN_SHARED_ARRAY declaration `key` (all its threads get the same one; the
// first to reach it fills it with NaN bytes).
void* shared_array(const void* key, size_t bytes, size_t align);
// The running block's dynamic shared memory (16-byte aligned).
void* dynamic_shared();

// Helpers for code that runs on the device arena outside a kernel (the emulated cuBLAS): while one is
// alive, launches are held back and device memory is accessible to this thread's work.
class DeviceAccess {
 public:
  DeviceAccess();
  ~DeviceAccess();
  DeviceAccess(const DeviceAccess&) = delete;
  DeviceAccess& operator=(const DeviceAccess&) = delete;
};
// Is [p, p + nbytes) inside one live device allocation?
bool is_device_range(const void* p, size_t nbytes);

// kernel: a generic lambda that calls the kernel with its arguments (see HATTN_LAUNCH).
template <class Kernel>
class Launch {
 public:
  Launch(const char* name, dim3 grid, dim3 block, size_t shared_bytes, Kernel kernel)
      : name_(name), grid_(grid), block_(block), shared_(shared_bytes), kernel_(kernel) {}

  template <class... A>
  void operator()(A&&... args) const {
    using Params = std::tuple<std::decay_t<A>...>;
    struct Body final : KernelBody {
      Body(Kernel k, Params p) : kernel(k), params(std::move(p)) {}
      void run_thread() const override {
        Params mine = params;  // each thread's own copy of the by-value parameters
        std::apply(kernel, mine);
      }
      Kernel kernel;
      Params params;
    };
    const Body body(kernel_, Params(std::forward<A>(args)...));
    execute(name_, grid_, block_, shared_, body);
  }

 private:
  const char* name_;
  dim3 grid_, block_;
  size_t shared_;
  Kernel kernel_;
};

}  // namespace ha::emu
