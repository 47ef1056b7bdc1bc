/* check_cublas_abi.c — compiled (never run) against the CUDA toolkit's cuBLAS headers with -Werror:
 * runtime/cublas_abi.h's function types must be exactly the real functions' types (with the real
 * enums in place of its ints), and its constants the real values. Run by ctest as
 * gpu.cublas_abi; a GPU is not needed, the toolkit's headers are. */
#include <cublas_api.h>

#define PERFT_CUBLAS_ABI_CHECK
#include "cublas_abi.h"

CublasCreate check_create = cublasCreate_v2;
CublasSetStream check_set_stream = cublasSetStream_v2;
CublasSetWorkspace check_set_workspace = cublasSetWorkspace_v2;
CublasGemmEx check_gemm_ex = cublasGemmEx;
CublasGemmGroupedBatchedEx check_gemm_grouped = cublasGemmGroupedBatchedEx;
CublasStatusText check_status_name = cublasGetStatusName;
CublasStatusText check_status_string = cublasGetStatusString;

_Static_assert(sizeof(cublasOperation_t) == sizeof(int) && sizeof(cudaDataType) == sizeof(int) &&
                   sizeof(cublasComputeType_t) == sizeof(int) && sizeof(cublasGemmAlgo_t) == sizeof(int) &&
                   sizeof(cublasStatus_t) == sizeof(int),
               "cuBLAS's enums are passed as ints");
_Static_assert((int)PERFT_CUBLAS_STATUS_SUCCESS == (int)CUBLAS_STATUS_SUCCESS &&
                   (int)PERFT_CUBLAS_STATUS_NOT_SUPPORTED == (int)CUBLAS_STATUS_NOT_SUPPORTED &&
                   (int)PERFT_CUBLAS_STATUS_INVALID_VALUE == (int)CUBLAS_STATUS_INVALID_VALUE,
               "cublasStatus_t");
_Static_assert((int)PERFT_CUBLAS_OP_N == (int)CUBLAS_OP_N && (int)PERFT_CUBLAS_OP_T == (int)CUBLAS_OP_T, "cublasOperation_t");
_Static_assert((int)PERFT_CUDA_R_32F == (int)CUDA_R_32F && (int)PERFT_CUDA_R_64F == (int)CUDA_R_64F &&
                   (int)PERFT_CUDA_R_16BF == (int)CUDA_R_16BF,
               "cudaDataType");
_Static_assert((int)PERFT_CUBLAS_COMPUTE_32F == (int)CUBLAS_COMPUTE_32F && (int)PERFT_CUBLAS_COMPUTE_64F == (int)CUBLAS_COMPUTE_64F &&
                   (int)PERFT_CUBLAS_COMPUTE_32F_FAST_16BF == (int)CUBLAS_COMPUTE_32F_FAST_16BF,
               "cublasComputeType_t");
_Static_assert((int)PERFT_CUBLAS_GEMM_DEFAULT == (int)CUBLAS_GEMM_DEFAULT, "cublasGemmAlgo_t");
