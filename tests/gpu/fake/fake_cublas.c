/* fake_cublas.c — a stand-in libcublas.so.13 for tests (never shipped): cublasGemmEx as cuBLAS's
 * documentation states it, on host memory, written here from that contract alone (column-major
 * C = α·op(A)·op(B) + β·C, op(X) = X or Xᵀ, leading dimensions in elements), with the argument
 * checks cuBLAS makes (CUBLAS_STATUS_INVALID_VALUE for negative sizes or leading dimensions below
 * max(1, rows); CUBLAS_STATUS_NOT_SUPPORTED for type combinations outside those perft uses: fp32,
 * fp64, and bf16 A and B with an fp32 C under CUBLAS_COMPUTE_32F).
 * cublasGemmGroupedBatchedEx likewise, each group's problems with their own pointers.
 * It records the last call's compute type (fake_cublas_last_compute_type) and counts calls.
 * FAKE_CUBLAS_FAIL=1: every GEMM fails with CUBLAS_STATUS_EXECUTION_FAILED; FAKE_CUBLAS_CREATE_FAIL=1:
 * cublasCreate fails with CUBLAS_STATUS_NOT_INITIALIZED (as it does without a usable GPU). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { SUCCESS = 0, NOT_INITIALIZED = 1, INVALID_VALUE = 7, EXECUTION_FAILED = 13, NOT_SUPPORTED = 15 };
enum { R_32F = 0, R_64F = 1, R_16BF = 14, COMPUTE_32F = 68, COMPUTE_64F = 70, COMPUTE_32F_FAST_16BF = 75 };

struct cublasContext {
  void *stream;
};
static struct cublasContext context;
static int last_compute_type = -1, calls;
int fake_cublas_last_compute_type(void) { return last_compute_type; }
int fake_cublas_calls(void) { return calls; }

int cublasCreate_v2(struct cublasContext **handle) {
  const char *fail = getenv("FAKE_CUBLAS_CREATE_FAIL");
  if (fail && *fail == '1') return NOT_INITIALIZED;
  *handle = &context;
  return SUCCESS;
}
int cublasSetStream_v2(struct cublasContext *handle, void *stream) { handle->stream = stream; return SUCCESS; }
static int workspace_bytes;
int fake_cublas_workspace_bytes(void) { return workspace_bytes; }
int cublasSetWorkspace_v2(struct cublasContext *handle, void *workspace, size_t bytes) {
  (void)handle;
  workspace_bytes = workspace ? (int)bytes : 0;
  return SUCCESS;
}

const char *cublasGetStatusName(int status) {
  switch (status) {
  case SUCCESS: return "CUBLAS_STATUS_SUCCESS";
  case NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
  case INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
  case EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
  case NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
  default: return "CUBLAS_STATUS_UNKNOWN";
  }
}
const char *cublasGetStatusString(int status) { return status == EXECUTION_FAILED ? "the GPU program failed to execute (fake)" : "fake cuBLAS status"; }

static int bad_leading(int ld, int rows) { return ld < (rows > 1 ? rows : 1); }

/* element i of a matrix of `type` (R_32F, R_64F or R_16BF: a float's top 16 bits) */
static double element(const void *x, int type, size_t i) {
  if (type == R_64F) return ((const double *)x)[i];
  if (type == R_32F) return ((const float *)x)[i];
  uint32_t bits = (uint32_t)((const uint16_t *)x)[i] << 16;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

/* a call's argument checks and types: SUCCESS or the status cuBLAS answers */
static int check_gemm(int trans_a, int trans_b, int m, int n, int k, int a_type, int lda, int b_type, int ldb, int c_type,
                      int ldc, int compute_type) {
  if (m < 0 || n < 0 || k < 0 || (trans_a != 0 && trans_a != 1) || (trans_b != 0 && trans_b != 1)) return INVALID_VALUE;
  if (bad_leading(lda, trans_a ? k : m) || bad_leading(ldb, trans_b ? n : k) || bad_leading(ldc, m)) return INVALID_VALUE;
  int f32 = a_type == R_32F && b_type == R_32F && c_type == R_32F &&
            (compute_type == COMPUTE_32F || compute_type == COMPUTE_32F_FAST_16BF);
  int f64 = a_type == R_64F && b_type == R_64F && c_type == R_64F && compute_type == COMPUTE_64F;
  int bf16 = a_type == R_16BF && b_type == R_16BF && c_type == R_32F && compute_type == COMPUTE_32F;
  return f32 || f64 || bf16 ? SUCCESS : NOT_SUPPORTED;
}

/* C = α·op(A)·op(B) + β·C, column-major (β = 0: C is not read) */
static void gemm(int trans_a, int trans_b, int m, int n, int k, const void *alpha, const void *a, int a_type, int lda,
                 const void *b, int b_type, int ldb, const void *beta, void *c, int c_type, int ldc) {
  for (int j = 0; j < n; j++)
    for (int i = 0; i < m; i++) {
      double sum = 0;
      for (int l = 0; l < k; l++) {
        size_t ai = trans_a ? (size_t)l + (size_t)i * (size_t)lda : (size_t)i + (size_t)l * (size_t)lda;
        size_t bi = trans_b ? (size_t)j + (size_t)l * (size_t)ldb : (size_t)l + (size_t)j * (size_t)ldb;
        sum += element(a, a_type, ai) * element(b, b_type, bi);
      }
      size_t ci = (size_t)i + (size_t)j * (size_t)ldc;
      if (c_type == R_32F) {
        float al = *(const float *)alpha, be = *(const float *)beta, *cc = c;
        cc[ci] = (float)(al * sum + (be == 0 ? 0 : be * cc[ci]));
      } else {
        double al = *(const double *)alpha, be = *(const double *)beta, *cc = c;
        cc[ci] = al * sum + (be == 0 ? 0 : be * cc[ci]);
      }
    }
}

int cublasGemmEx(struct cublasContext *handle, int trans_a, int trans_b, int m, int n, int k, const void *alpha,
                 const void *a, int a_type, int lda, const void *b, int b_type, int ldb, const void *beta, void *c,
                 int c_type, int ldc, int compute_type, int algorithm) {
  (void)algorithm;
  calls++;
  last_compute_type = compute_type;
  const char *fail = getenv("FAKE_CUBLAS_FAIL");
  if (fail && *fail == '1') return EXECUTION_FAILED;
  if (handle != &context) return NOT_INITIALIZED;
  int status = check_gemm(trans_a, trans_b, m, n, k, a_type, lda, b_type, ldb, c_type, ldc, compute_type);
  if (status == SUCCESS) gemm(trans_a, trans_b, m, n, k, alpha, a, a_type, lda, b, b_type, ldb, beta, c, c_type, ldc);
  return status;
}

/* cublasGemmGroupedBatchedEx: group g's group_size[g] problems (the arrays' next ones) each
 * C = α_g·op_g(A)·op_g(B) + β_g·C with group g's sizes and leading dimensions (host arrays); the
 * pointer arrays A, B, C one entry a problem. FAKE_CUBLAS_NO_GROUPED=1: CUBLAS_STATUS_NOT_SUPPORTED
 * (as a cuBLAS that does not take the types would); =7: CUBLAS_STATUS_INVALID_VALUE (one that does
 * not take the compute type). */
static int grouped_calls, grouped_problems;
int fake_cublas_grouped_calls(void) { return grouped_calls; }
int fake_cublas_grouped_problems(void) { return grouped_problems; }
int cublasGemmGroupedBatchedEx(struct cublasContext *handle, const int trans_a[], const int trans_b[], const int m[],
                               const int n[], const int k[], const void *alpha, const void *const a[], int a_type,
                               const int lda[], const void *const b[], int b_type, const int ldb[], const void *beta,
                               void *const c[], int c_type, const int ldc[], int group_count, const int group_size[],
                               int compute_type) {
  grouped_calls++;
  last_compute_type = compute_type;
  const char *refuse = getenv("FAKE_CUBLAS_NO_GROUPED");
  if (refuse && *refuse == '1') return NOT_SUPPORTED;
  if (refuse && *refuse == '7') return INVALID_VALUE;
  if (handle != &context) return NOT_INITIALIZED;
  if (group_count < 0) return INVALID_VALUE;
  for (int g = 0; g < group_count; g++) {
    if (group_size[g] < 0) return INVALID_VALUE;
    int status = check_gemm(trans_a[g], trans_b[g], m[g], n[g], k[g], a_type, lda[g], b_type, ldb[g], c_type, ldc[g], compute_type);
    if (status != SUCCESS) return status;
  }
  size_t scalar = c_type == R_64F ? sizeof(double) : sizeof(float);
  for (int g = 0, p = 0; g < group_count; g++)
    for (int j = 0; j < group_size[g]; j++, p++) {
      gemm(trans_a[g], trans_b[g], m[g], n[g], k[g], (const char *)alpha + g * scalar, a[p], a_type, lda[g], b[p], b_type,
           ldb[g], (const char *)beta + g * scalar, c[p], c_type, ldc[g]);
      grouped_problems++;
    }
  return SUCCESS;
}
