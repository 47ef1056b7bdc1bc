/* cublas_abi.h — the part of cuBLAS's ABI gemm_cublas.c uses, declared without CUDA headers.
 *
 * The enums cuBLAS passes by value are ints in its ABI; here they are CUBLAS_ENUM(real type),
 * which is `int` in the runtime and the real enum when tests/gpu/check_cublas_abi.c compiles this
 * header beside the toolkit's cublas_api.h (PERFT_CUBLAS_ABI_CHECK): there each function type below
 * must be exactly that of the real function, and each constant its value, or the check fails.
 */
#ifndef PERFT_RUNTIME_CUBLAS_ABI_H
#define PERFT_RUNTIME_CUBLAS_ABI_H

#ifdef PERFT_CUBLAS_ABI_CHECK
#define CUBLAS_ENUM(real) real
#else
#define CUBLAS_ENUM(real) int
#endif

struct cublasContext;      /* cublasHandle_t is a pointer to it */
struct CUstream_st;        /* cudaStream_t, CUstream */

typedef CUBLAS_ENUM(cublasStatus_t) (*CublasCreate)(struct cublasContext **handle);
typedef CUBLAS_ENUM(cublasStatus_t) (*CublasSetStream)(struct cublasContext *handle, struct CUstream_st *stream);
typedef CUBLAS_ENUM(cublasStatus_t) (*CublasSetWorkspace)(struct cublasContext *handle, void *workspace, size_t bytes);
typedef CUBLAS_ENUM(cublasStatus_t) (*CublasGemmEx)(
    struct cublasContext *handle, CUBLAS_ENUM(cublasOperation_t) trans_a, CUBLAS_ENUM(cublasOperation_t) trans_b, int m,
    int n, int k, const void *alpha, const void *a, CUBLAS_ENUM(cudaDataType) a_type, int lda, const void *b,
    CUBLAS_ENUM(cudaDataType) b_type, int ldb, const void *beta, void *c, CUBLAS_ENUM(cudaDataType) c_type, int ldc,
    CUBLAS_ENUM(cublasComputeType_t) compute_type, CUBLAS_ENUM(cublasGemmAlgo_t) algorithm);
/* cuBLAS 12.5 and later: group_count groups of problems, each group its own sizes, operations, leading
 * dimensions and scalars (host arrays of group_count), every problem its own A, B, C pointers
 * (arrays in device memory, the problems of group 0 first) */
typedef CUBLAS_ENUM(cublasStatus_t) (*CublasGemmGroupedBatchedEx)(
    struct cublasContext *handle, const CUBLAS_ENUM(cublasOperation_t) trans_a[], const CUBLAS_ENUM(cublasOperation_t) trans_b[],
    const int m[], const int n[], const int k[], const void *alpha, const void *const a[], CUBLAS_ENUM(cudaDataType) a_type,
    const int lda[], const void *const b[], CUBLAS_ENUM(cudaDataType) b_type, const int ldb[], const void *beta,
    void *const c[], CUBLAS_ENUM(cudaDataType) c_type, const int ldc[], int group_count, const int group_size[],
    CUBLAS_ENUM(cublasComputeType_t) compute_type);
typedef const char *(*CublasStatusText)(CUBLAS_ENUM(cublasStatus_t) status);

/* the values, as the toolkit's headers give them (checked there) */
enum {
  PERFT_CUBLAS_STATUS_SUCCESS = 0,
  PERFT_CUBLAS_STATUS_INVALID_VALUE = 7,
  PERFT_CUBLAS_STATUS_NOT_SUPPORTED = 15,
  PERFT_CUBLAS_OP_N = 0,
  PERFT_CUBLAS_OP_T = 1,
  PERFT_CUDA_R_32F = 0,
  PERFT_CUDA_R_64F = 1,
  PERFT_CUDA_R_16BF = 14,
  PERFT_CUBLAS_COMPUTE_32F = 68,
  PERFT_CUBLAS_COMPUTE_64F = 70,
  PERFT_CUBLAS_COMPUTE_32F_FAST_16BF = 75,
  PERFT_CUBLAS_GEMM_DEFAULT = -1,
};

#endif
