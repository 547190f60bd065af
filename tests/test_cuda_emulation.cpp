// The CUDA emulation itself (built only by `make cuda-emu`): the rules a GPU enforces are enforced here too,
// and the bugs emulation exists to find (a missing barrier, a read of shared memory nothing wrote, a barrier on
// divergent paths, a block reading what another block of the launch writes, a host read of device memory, a bad
// launch, a hung kernel) are found: each has a kernel with that bug seeded. Kernels here are written as in any
// .cu file.
#include <gtest/gtest.h>

#include <cmath>

#include <string>
#include <vector>

#include "tensor/cuda/cuda_check.h"
#include "tensor/cuda/cuda_memory.h"

namespace {

constexpr int kThreads = 64;

// Block sum by a shared-memory tree; with_barriers = false drops the barriers (the classic bug).
__global__ void block_sum_kernel(const float* x, float* out, bool with_barriers) {
  HATTN_SHARED_ARRAY(float, buf, kThreads);
  buf[threadIdx.x] = x[blockIdx.x * kThreads + threadIdx.x];
  if (with_barriers) __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < unsigned(s)) buf[threadIdx.x] += buf[threadIdx.x + s];
    if (with_barriers) __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = buf[0];
}

// Half the threads return at once; the rest meet at barriers twice.
__global__ void early_return_kernel(int* out) {
  HATTN_SHARED_ARRAY(int, buf, kThreads);
  if (threadIdx.x % 2) return;
  buf[threadIdx.x] = int(threadIdx.x);
  __syncthreads();
  out[threadIdx.x] = buf[(threadIdx.x + 2) % kThreads];
  __syncthreads();
}

// Every built-in index, through a 3-d grid of 3-d blocks.
__global__ void index_kernel(int* out) {
  const unsigned block = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
  const unsigned thread = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
  out[block * blockDim.x * blockDim.y * blockDim.z + thread] = int(block * 1000 + thread);
}

__global__ void dynamic_shared_kernel(double* out, int n) {
  HATTN_DYNAMIC_SHARED(double, buf);
  buf[threadIdx.x] = threadIdx.x * 0.5;
  __syncthreads();
  out[threadIdx.x] = buf[n - 1 - threadIdx.x];
}

// Reads shared memory that no thread of the block wrote: slot t + 1 of the last thread, and
// what an earlier block would have left in it (every_block_writes false: only block 0 writes).
__global__ void uninitialised_shared_kernel(float* out, bool every_block_writes) {
  HATTN_SHARED_ARRAY(float, buf, kThreads + 1);
  if (every_block_writes || blockIdx.x == 0) buf[threadIdx.x] = float(threadIdx.x);
  __syncthreads();
  out[blockIdx.x * kThreads + threadIdx.x] = buf[threadIdx.x + 1];
}

// 52 KB of shared memory: more than a block may have.
__global__ void too_much_shared_kernel(float* out) {
  HATTN_SHARED_ARRAY(float, big, 13 * 1024);
  big[threadIdx.x] = 1.f;
  out[threadIdx.x] = big[threadIdx.x];
}

// The two halves of the block wait at different barriers.
__global__ void divergent_barrier_kernel(int* out) {
  if (threadIdx.x < kThreads / 2) {
    __syncthreads();
    out[threadIdx.x] = 1;
  } else {
    __syncthreads();
    out[threadIdx.x] = 2;
  }
}

// Block b reads what block b - 1 writes in the same launch: a race between blocks.
__global__ void neighbour_read_kernel(const float* x, float* mid, float* out) {
  const unsigned b = blockIdx.x;
  mid[b] = 2 * x[b];
  out[b] = b ? mid[b - 1] : 0.f;
}

// Thread 0 of each block logs (block, phase) at three phases.
__global__ void phase_log_kernel(int* log, int* count) {
  for (int phase = 0; phase < 3; ++phase) {
    if (threadIdx.x == 0) log[(*count)++] = int(blockIdx.x) * 10 + phase;
    __syncthreads();
  }
}

__global__ void spin_kernel(volatile int* flag) {
  while (*flag == 0) {
  }
}

template <class T>
T* device_copy(const std::vector<T>& h) {
  T* d = nullptr;
  HATTN_CUDA_CHECK(cudaMalloc(&d, h.size() * sizeof(T)));
  HATTN_CUDA_CHECK(cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}

template <class T>
std::vector<T> host_copy(const T* d, size_t n) {
  std::vector<T> h(n);
  HATTN_CUDA_CHECK(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
  return h;
}

TEST(CudaEmulation, BarriersOrderSharedMemory) {
  const int blocks = 3;
  std::vector<float> x(blocks * kThreads);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(i * 37 % 11) + 1.f;  // block sums unrelated
  float* dx = device_copy(x);
  float* dout = nullptr;
  HATTN_CUDA_CHECK(cudaMalloc(&dout, blocks * sizeof(float)));
#if defined(__SANITIZE_THREAD__)
  const bool runs[] = {true};  // the race is checked below
#else
  const bool runs[] = {true, false};
#endif
  for (bool with_barriers : runs) {
    HATTN_LAUNCH(blocks, kThreads, 0, block_sum_kernel)(dx, dout, with_barriers);
    HATTN_CUDA_CHECK(cudaGetLastError());
    const std::vector<float> got = host_copy(dout, blocks);
    int wrong = 0;
    for (int b = 0; b < blocks; ++b) {
      float want = 0;
      for (int i = 0; i < kThreads; ++i) want += x[b * kThreads + i];
      wrong += got[b] != want;
    }
    // with the barriers every block sums right; without, the schedule makes some block read too early
    if (with_barriers)
      EXPECT_EQ(wrong, 0);
    else
      EXPECT_GT(wrong, 0) << "a missing barrier went unnoticed";
  }
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer sees the CUDA threads as fibers that only barriers order: it names the race.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(HATTN_LAUNCH(blocks, kThreads, 0, block_sum_kernel)(dx, dout, false), "data race");
#endif
  cudaFree(dx);
  cudaFree(dout);
}

TEST(CudaEmulation, ReturnedThreadsLeaveTheBarrier) {
  int* d = device_copy(std::vector<int>(kThreads, -1));
  HATTN_LAUNCH(1, kThreads, 0, early_return_kernel)(d);
  HATTN_CUDA_CHECK(cudaGetLastError());
  const std::vector<int> got = host_copy(d, kThreads);
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(got[t], t % 2 ? -1 : (t + 2) % kThreads) << t;
  cudaFree(d);
}

TEST(CudaEmulation, BuiltinIndices) {
  const dim3 grid(3, 2, 2), block(4, 3, 2);
  const int n = 12 * 24;
  int* d = device_copy(std::vector<int>(n, -1));
  HATTN_LAUNCH(grid, block, 0, index_kernel)(d);
  HATTN_CUDA_CHECK(cudaGetLastError());
  const std::vector<int> got = host_copy(d, n);
  for (int i = 0; i < n; ++i) EXPECT_EQ(got[i], (i / 24) * 1000 + i % 24) << i;
  cudaFree(d);
}

TEST(CudaEmulation, DynamicSharedMemory) {
  const int n = 100;
  double* d = nullptr;
  HATTN_CUDA_CHECK(cudaMalloc(&d, n * sizeof(double)));
  HATTN_LAUNCH(1, n, n * sizeof(double), dynamic_shared_kernel)(d, n);
  HATTN_CUDA_CHECK(cudaGetLastError());
  const std::vector<double> got = host_copy(d, n);
  for (int t = 0; t < n; ++t) EXPECT_EQ(got[t], (n - 1 - t) * 0.5);
  cudaFree(d);
}

TEST(CudaEmulation, SharedMemoryStartsAsGarbageInEveryBlock) {
  const int blocks = 3;
  float* d = nullptr;
  HATTN_CUDA_CHECK(cudaMalloc(&d, blocks * kThreads * sizeof(float)));
  for (bool every_block_writes : {true, false}) {
    HATTN_LAUNCH(blocks, kThreads, 0, uninitialised_shared_kernel)(d, every_block_writes);
    HATTN_CUDA_CHECK(cudaGetLastError());
    const std::vector<float> got = host_copy(d, blocks * kThreads);
    for (int b = 0; b < blocks; ++b)
      for (int t = 0; t < kThreads; ++t) {
        const float v = got[b * kThreads + t];
        if (t + 1 < kThreads && (every_block_writes || b == 0))
          EXPECT_EQ(v, float(t + 1)) << b << " " << t;
        else  // the slot past the last thread, or a block that wrote nothing: what no thread of it wrote
          EXPECT_TRUE(std::isnan(v)) << "block " << b << " thread " << t << " read " << v;
      }
  }
  cudaFree(d);
}

TEST(CudaEmulation, SharedMemoryOverTheLimitFailsTheLaunch) {
  float* d = nullptr;
  HATTN_CUDA_CHECK(cudaMalloc(&d, 32 * sizeof(float)));
  testing::internal::CaptureStderr();
  HATTN_LAUNCH(1, 32, 0, too_much_shared_kernel)(d);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure);
  EXPECT_NE(err.find("more than 48 KB of shared memory"), std::string::npos) << err;
  cudaFree(d);
}

TEST(CudaEmulation, BarrierOnDivergentPathsFailsTheLaunch) {
  int* d = device_copy(std::vector<int>(kThreads, 0));
  testing::internal::CaptureStderr();
  HATTN_LAUNCH(1, kThreads, 0, divergent_barrier_kernel)(d);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure);
  EXPECT_NE(err.find("a barrier reached on divergent paths"), std::string::npos) << err;
  EXPECT_NE(err.find("test_cuda_emulation.cpp:"), std::string::npos) << err;  // names the call sites
  cudaFree(d);
}

TEST(CudaEmulation, RaceBetweenBlocksShowsInOneOfTwoLaunches) {
  const int blocks = 7;
  std::vector<float> x(blocks);
  for (int b = 0; b < blocks; ++b) x[b] = float(b + 1);
  float* dx = device_copy(x);
  float *mid = nullptr, *out = nullptr;
  HATTN_CUDA_CHECK(cudaMalloc(&mid, blocks * sizeof(float)));
  HATTN_CUDA_CHECK(cudaMalloc(&out, blocks * sizeof(float)));
  int wrong = 0;
  for (int launch = 0; launch < 2; ++launch) {  // consecutive launches take the grid in opposite orders
    HATTN_CUDA_CHECK(cudaMemset(mid, 0xFF, blocks * sizeof(float)));
    HATTN_LAUNCH(blocks, 1, 0, neighbour_read_kernel)(dx, mid, out);
    HATTN_CUDA_CHECK(cudaGetLastError());
    const std::vector<float> got = host_copy(out, blocks);
    for (int b = 1; b < blocks; ++b) wrong += got[b] != 2 * x[b - 1];
  }
  EXPECT_GT(wrong, 0) << "a block read another block's output of the same launch and nothing showed";
  cudaFree(dx);
  cudaFree(mid);
  cudaFree(out);
}

TEST(CudaEmulation, ResidentBlocksInterleaveAtBarriers) {
  if (ha::emu::kResidentBlocks < 2) GTEST_SKIP() << "one resident block under ThreadSanitizer";
  const int blocks = 4, entries = blocks * 3;
  int* log = device_copy(std::vector<int>(entries, -1));
  int* count = device_copy(std::vector<int>(1, 0));
  HATTN_LAUNCH(blocks, 32, 0, phase_log_kernel)(log, count);
  HATTN_CUDA_CHECK(cudaGetLastError());
  const std::vector<int> got = host_copy(log, entries);
  ASSERT_EQ(host_copy(count, 1)[0], entries);
  // another block's phase runs between two phases of the first block that started
  const int first = got[0] / 10;
  int second_phase = 0;
  while (got[second_phase] != first * 10 + 1) ++second_phase;
  bool other = false;
  for (int i = 1; i < second_phase; ++i) other |= got[i] / 10 != first;
  EXPECT_TRUE(other) << "blocks ran one after another";
  // every block ran every phase, in its own order
  for (int b = 0; b < blocks; ++b) {
    std::vector<int> mine;
    for (int v : got)
      if (v / 10 == b) mine.push_back(v % 10);
    EXPECT_EQ(mine, (std::vector<int>{0, 1, 2})) << b;
  }
  cudaFree(log);
  cudaFree(count);
}

// What nvcc makes of each kernel (sm_90, generated at build time) bounds a launch: the scan's backward declares
// __launch_bounds__(128), so 256 threads cannot run in one block although its 90 registers per thread would allow
// 672 (65,536 registers per SM, allocated per warp in units of 256). ptxas keeps every kernel's registers within
// its bounds, so on our kernels the bound is what refuses; the registers' own limit is a second guard no kernel
// of ours reaches.
TEST(CudaEmulation, LaunchesAreCheckedAgainstBoundsAndSharedMemory) {
  if (!ha::emu::launch_resources_known()) GTEST_SKIP() << "built without nvcc: no kernel resources to check against";
  const std::string why = ha::emu::launch_resource_error("scan_backward_kernel", 256, 0);
  EXPECT_NE(why.find("too many resources requested for launch"), std::string::npos) << why;
  EXPECT_NE(why.find("__launch_bounds__ (128)"), std::string::npos) << why;
  EXPECT_EQ(ha::emu::launch_resource_error("ha::cuda::scan_backward_kernel", 128, 0), "");
  // 2 KB static shared memory: 40 KB more fit, 47 KB do not
  EXPECT_EQ(ha::emu::launch_resource_error("sum_slices_kernel<T>", 256, 40 * 1024), "");
  EXPECT_NE(ha::emu::launch_resource_error("sum_slices_kernel<T>", 256, 47 * 1024).find("over 48 KB"), std::string::npos);
  EXPECT_EQ(ha::emu::launch_resource_error("a_test_kernel", 1024, 0), "");          // unknown to ptxas here
}

TEST(CudaEmulation, InvalidLaunchesAreErrors) {
  int* d = nullptr;
  HATTN_CUDA_CHECK(cudaMalloc(&d, 4));
  HATTN_LAUNCH(1, 1025, 0, index_kernel)(d);  // more than 1024 threads per block
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  HATTN_LAUNCH(0, 32, 0, index_kernel)(d);  // an empty grid
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);  // reading the error clears it
  cudaFree(d);
}

TEST(CudaEmulation, CopiesCheckKindsAndBounds) {
  std::vector<float> h(16, 1.f);
  float* d = nullptr;
  HATTN_CUDA_CHECK(cudaMalloc(&d, 16 * sizeof(float)));
  EXPECT_EQ(cudaMemcpy(h.data(), d, 64, cudaMemcpyHostToDevice), cudaErrorInvalidValue);  // sides swapped
  EXPECT_EQ(cudaMemcpy(d, h.data(), 68, cudaMemcpyHostToDevice), cudaErrorInvalidValue);  // past the allocation
  EXPECT_EQ(cudaMemset(d + 8, 0, 64), cudaErrorInvalidValue);
  EXPECT_EQ(cudaFree(h.data()), cudaErrorInvalidValue);  // not device memory
  cudaGetLastError();
  // fresh device memory is NaN, as garbage would be on a GPU
  const std::vector<float> fresh = host_copy(d, 16);
  for (float v : fresh) EXPECT_TRUE(std::isnan(v)) << v;
  cudaFree(d);
}

TEST(CudaEmulation, DeviceIndicesAreChecked) {
  EXPECT_EQ(cudaSetDevice(1), cudaErrorInvalidDevice);
  EXPECT_EQ(cudaSetDevice(0), cudaSuccess);
  cudaGetLastError();
  EXPECT_TRUE(ha::cuda::available());
  EXPECT_EQ(ha::cuda::device_count(), 1);
}

TEST(CudaEmulationDeathTest, HostReadOfDeviceMemoryStops) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  float* d = nullptr;
  HATTN_CUDA_CHECK(cudaMalloc(&d, 16 * sizeof(float)));
  EXPECT_DEATH({ volatile float v = d[3]; (void)v; }, "host code accessed device memory");
  cudaFree(d);
}

TEST(CudaEmulationDeathTest, HungKernelIsNamed) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        setenv("HATTN_EMU_WATCHDOG_S", "1", 1);
        int* flag = device_copy(std::vector<int>(1, 0));
        HATTN_LAUNCH(1, 2, 0, spin_kernel)(flag);
      },
      "kernel spin_kernel.*did not finish within 1 s");
}

}  // namespace
