// The emulated cuBLAS GEMM (see cublas_emu.h). Column-major C (m x n, ld ldc) is row-major C^T (n x m, row
// stride ldc), and C^T = op(B)^T op(A)^T, so our row-major GEMM gets A' = op(B)^T and B' = op(A)^T as strided
// views: no copies, and every leading dimension is checked as cuBLAS checks it.
#include "ops/cuda/cublas_emu.h"

#include <algorithm>

#include "ops/cpu/gemm.h"
#include "tensor/cuda/emu/emu_runtime.h"

struct cublasContext {};

cublasStatus_t cublasCreate_v2(cublasHandle_t* handle) {
  if (!handle) return CUBLAS_STATUS_INVALID_VALUE;
  *handle = new cublasContext;
  return CUBLAS_STATUS_SUCCESS;
}

namespace {

template <class T>
cublasStatus_t gemm(cublasHandle_t handle, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                    const T* alpha, const T* A, int lda, const T* B, int ldb, const T* beta, T* C, int ldc) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  // A is stored m x k (op N) or k x m (op T), column-major; likewise B k x n or n x k
  const int a_rows = ta == CUBLAS_OP_N ? m : k, b_rows = tb == CUBLAS_OP_N ? k : n;
  if (m < 0 || n < 0 || k < 0 || lda < std::max(1, a_rows) || ldb < std::max(1, b_rows) || ldc < std::max(1, m))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  const ha::emu::DeviceAccess device;  // the operands live in the emulated device memory
  if (!ha::emu::is_device_range(C, sizeof(T) * (size_t(ldc) * (n - 1) + m))) return CUBLAS_STATUS_INVALID_VALUE;
  // A'(j, p) = op(B)(p, j); B'(p, i) = op(A)(i, p)
  const int64_t rsA = tb == CUBLAS_OP_N ? ldb : 1, csA = tb == CUBLAS_OP_N ? 1 : ldb;
  const int64_t rsB = ta == CUBLAS_OP_N ? lda : 1, csB = ta == CUBLAS_OP_N ? 1 : lda;
  ha::cpu::gemm<T>(n, m, k, *alpha, B, rsA, csA, A, rsB, csB, *beta, C, ldc);
  return CUBLAS_STATUS_SUCCESS;
}

}  // namespace

cublasStatus_t cublasSgemm_v2(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                              const float* alpha, const float* A, int lda, const float* B, int ldb, const float* beta,
                              float* C, int ldc) {
  return gemm(h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

cublasStatus_t cublasDgemm_v2(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                              const double* alpha, const double* A, int lda, const double* B, int ldb,
                              const double* beta, double* C, int ldc) {
  return gemm(h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}
