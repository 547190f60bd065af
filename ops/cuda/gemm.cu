// cuBLAS is column-major: the row-major product C = A B is computed as C^T = B^T A^T, where a row-major
// operand with column stride 1 is a column-major matrix of its transpose (op N) and one with row stride 1
// is a column-major matrix itself (op T).
#ifdef HATTN_CUDA_EMULATION
#include "ops/cuda/cublas_emu.h"
#else
#include <cublas_v2.h>
#include <dlfcn.h>
#endif

#include <algorithm>
#include <mutex>

#include "ops/cuda/gemm_cuda.h"
#include "tensor/cuda/cuda_check.h"

namespace ha::cuda {
namespace {

#define HATTN_CUBLAS_CHECK(call)                                                                          \
  do {                                                                                                    \
    cublasStatus_t st_ = (call);                                                                          \
    if (st_ != CUBLAS_STATUS_SUCCESS)                                                                     \
      throw ::ha::Error(::ha::str("cuBLAS error ", int(st_), " in ", #call, " at ", __FILE__, ":", __LINE__)); \
  } while (0)

// cuBLAS is loaded on first use (dlopen), not linked: mapping it costs every process ~200 MB of resident
// memory and 0.1 s at start-up, which CPU-only runs of the same binary must not pay.
struct Cublas {
  decltype(&cublasCreate_v2) create = nullptr;
  decltype(&cublasSgemm_v2) sgemm = nullptr;
  decltype(&cublasDgemm_v2) dgemm = nullptr;
};

const Cublas& cublas() {
#ifdef HATTN_CUDA_EMULATION
  static const Cublas lib{&cublasCreate_v2, &cublasSgemm_v2, &cublasDgemm_v2};
#else
  static const Cublas lib = [] {
    void* h = nullptr;
    for (const char* name : {"libcublas.so", "libcublas.so.13", "libcublas.so.12", "libcublas.so.11"})
      if ((h = dlopen(name, RTLD_NOW | RTLD_LOCAL))) break;
    HATTN_CHECK(h != nullptr, "cuBLAS could not be loaded (libcublas.so: ", dlerror(), ")");
    Cublas c;
    c.create = reinterpret_cast<decltype(c.create)>(dlsym(h, "cublasCreate_v2"));
    c.sgemm = reinterpret_cast<decltype(c.sgemm)>(dlsym(h, "cublasSgemm_v2"));
    c.dgemm = reinterpret_cast<decltype(c.dgemm)>(dlsym(h, "cublasDgemm_v2"));
    HATTN_CHECK(c.create && c.sgemm && c.dgemm, "cuBLAS was loaded but lacks cublasCreate_v2/Sgemm_v2/Dgemm_v2");
    return c;
  }();
#endif
  return lib;
}

cublasHandle_t handle_for(int device) {
  static std::mutex mu;
  static cublasHandle_t handles[64] = {};
  HATTN_CHECK(device >= 0 && device < 64, "cuBLAS: device index ", device, " out of range");
  std::lock_guard<std::mutex> lock(mu);
  if (!handles[device]) {
    HATTN_CUDA_CHECK(cudaSetDevice(device));
    HATTN_CUBLAS_CHECK(cublas().create(&handles[device]));
  }
  return handles[device];
}

struct Operand {
  cublasOperation_t op;
  int64_t ld;
  bool ok;
};

// X (rows x cols) has X[r][c] at r·rs + c·cs; cuBLAS needs X^T (cols x rows) as op(Y) with Y column-major,
// Y(i, j) at i + j·ld and ld at least Y's row count. Zero strides (broadcasts) never qualify.
Operand operand_of(int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  if (cs == 1 || cols == 1) {  // Y = X^T itself: (c, r) at c + r·rs
    const int64_t ld = rows == 1 ? std::max<int64_t>(1, cols) : rs;
    return {CUBLAS_OP_N, ld, ld >= std::max<int64_t>(1, cols)};
  }
  if (rs == 1 || rows == 1) {  // Y = X: (r, c) at r + c·cs, and X^T = op T
    const int64_t ld = cols == 1 ? std::max<int64_t>(1, rows) : cs;
    return {CUBLAS_OP_T, ld, ld >= std::max<int64_t>(1, rows)};
  }
  return {CUBLAS_OP_N, 0, false};
}

}  // namespace

bool gemm_operand_ok(int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride) {
  return operand_of(rows, cols, row_stride, col_stride).ok;
}

void gemm(bool f64, int64_t M, int64_t N, int64_t K, const void* A, int64_t rsA, int64_t csA, const void* B,
          int64_t rsB, int64_t csB, void* C, int64_t ldc, int device) {
  if (M == 0 || N == 0) return;
  const Operand a = operand_of(M, K, rsA, csA), b = operand_of(K, N, rsB, csB);
  HATTN_CHECK(a.ok && b.ok, "cuda::gemm: an operand has no unit stride (the caller must make it contiguous)");
  HATTN_CHECK(M < (1LL << 31) && N < (1LL << 31) && K < (1LL << 31), "cuda::gemm: dimensions beyond int range");
  HATTN_CUDA_CHECK(cudaSetDevice(device));
  cublasHandle_t h = handle_for(device);
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i)
      HATTN_CUDA_CHECK(cudaMemset(static_cast<char*>(C) + i * ldc * (f64 ? 8 : 4), 0, N * (f64 ? 8 : 4)));
    return;
  }
  // C^T (N x M, ld ldc) = op(B^T) (N x K) · op(A^T) (K x M)
  if (f64) {
    const double one = 1, zero = 0;
    HATTN_CUBLAS_CHECK(cublas().dgemm(h, b.op, a.op, int(N), int(M), int(K), &one, static_cast<const double*>(B), int(b.ld),
                                   static_cast<const double*>(A), int(a.ld), &zero, static_cast<double*>(C), int(ldc)));
  } else {
    const float one = 1, zero = 0;
    HATTN_CUBLAS_CHECK(cublas().sgemm(h, b.op, a.op, int(N), int(M), int(K), &one, static_cast<const float*>(B), int(b.ld),
                                   static_cast<const float*>(A), int(a.ld), &zero, static_cast<float*>(C), int(ldc)));
  }
}

}  // namespace ha::cuda
