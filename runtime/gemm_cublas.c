/* gemm_cublas.c — gemm.h's backend on the GPU: cuBLAS, loaded with dlopen on the first GEMM (so an
 * executable links without CUDA libraries and one without library GEMMs never needs cuBLAS).
 *
 * Every GEMM runs on the program's one stream (cuda_driver.h) with cublasGemmEx. float operands:
 * CUBLAS_COMPUTE_32F_FAST_16BF — tensor cores, inputs rounded to bf16, fp32 accumulation and
 * output; PERFT_GEMM_MATH=fp32 in the environment asks for CUBLAS_COMPUTE_32F instead (plain fp32
 * math, for comparing numbers with the CPU at fp32 tolerances). bf16 inputs (a frozen bf16 weight,
 * GEMM_BF16_INPUTS) with a float output: CUBLAS_COMPUTE_32F, tensor cores with fp32 accumulation.
 * double operands: CUBLAS_COMPUTE_64F.
 * Every call is checked: the call, file and line, and cuBLAS's status name and text.
 * The few types and constants come from cublas_abi.h (no CUDA header needed to build; checked
 * against the toolkit's headers by tests/gpu/check_cublas_abi.c).
 */
#include "gemm.h"

#include "check.h"
#include "cublas_abi.h"
#include "cuda_driver.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static struct {
  CublasCreate create;
  CublasSetStream set_stream;
  CublasGemmEx gemm_ex;
  CublasStatusText status_name, status_string;
} cublas;
static struct cublasContext *handle;
static int compute_32f;

static void cublas_check(int status, const char *call, const char *file, int line) {
  if (status == PERFT_CUBLAS_STATUS_SUCCESS) return;
  perft_fatal("%s failed at %s:%d: %s (%d): %s", call, file, line, cublas.status_name(status), status,
              cublas.status_string(status));
}
#define CUBLAS_CHECK(call) cublas_check((call), #call, __FILE__, __LINE__)

static void *symbol(void *library, const char *name) {
  void *address = dlsym(library, name);
  if (!address) perft_fatal("the cuBLAS library has no %s (cuBLAS 12 or newer is needed)", name);
  return address;
}

static void start(void) {
  if (handle) return;
  cuda_driver_start();
  /* the loader's path first, then the toolkit's usual home (not always in the loader's cache) */
  static const char *const names[] = {"libcublas.so.13", "libcublas.so.12", "/usr/local/cuda/lib64/libcublas.so.13",
                                      "/usr/local/cuda/lib64/libcublas.so.12"};
  void *library = NULL;
  for (size_t i = 0; i < sizeof names / sizeof names[0] && !library; i++) library = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
  if (!library)
    perft_fatal("this program's GEMMs run on cuBLAS: cannot load libcublas.so.13 or .12 (%s); "
                "put the CUDA toolkit's lib64 on LD_LIBRARY_PATH",
                dlerror());
  *(void **)&cublas.create = symbol(library, "cublasCreate_v2");
  *(void **)&cublas.set_stream = symbol(library, "cublasSetStream_v2");
  *(void **)&cublas.gemm_ex = symbol(library, "cublasGemmEx");
  *(void **)&cublas.status_name = symbol(library, "cublasGetStatusName");
  *(void **)&cublas.status_string = symbol(library, "cublasGetStatusString");
  CUBLAS_CHECK(cublas.create(&handle));
  CUBLAS_CHECK(cublas.set_stream(handle, cuda_stream()));
  const char *math = getenv("PERFT_GEMM_MATH");
  if (math && strcmp(math, "fp32") && strcmp(math, "bf16"))
    perft_fatal("PERFT_GEMM_MATH must be fp32 or bf16, not '%s'", math);
  compute_32f = math && !strcmp(math, "fp32");
}

static int int_size(int64_t v, const char *what) {
  if (v < 0 || v > INT_MAX) perft_fatal_at(__FILE__, __LINE__, "a GEMM's %s (%lld) is beyond cuBLAS's int", what, (long long)v);
  return (int)v;
}

void gemm_backend_run(const ColumnGemm *g) {
  start();
  if (g->m == 0 || g->n == 0) return;
  int m = int_size(g->m, "m"), n = int_size(g->n, "n"), k = int_size(g->k, "k");
  int lda = int_size(g->lda > 0 ? g->lda : 1, "lda"), ldb = int_size(g->ldb > 0 ? g->ldb : 1, "ldb");
  int ldc = int_size(g->ldc, "ldc");
  float alpha32 = 1, beta32 = g->accumulate ? 1 : 0;
  double alpha64 = 1, beta64 = g->accumulate ? 1 : 0;
  const void *alpha = g->f64 ? (const void *)&alpha64 : &alpha32, *beta = g->f64 ? (const void *)&beta64 : &beta32;
  int type = g->f64 ? PERFT_CUDA_R_64F : PERFT_CUDA_R_32F, input_type = g->bf16_inputs ? PERFT_CUDA_R_16BF : type;
  /* bf16 inputs: tensor cores with fp32 accumulation is what CUBLAS_COMPUTE_32F does with them */
  int compute = g->f64                         ? PERFT_CUBLAS_COMPUTE_64F
                : compute_32f || g->bf16_inputs ? PERFT_CUBLAS_COMPUTE_32F
                                                : PERFT_CUBLAS_COMPUTE_32F_FAST_16BF;
  int trans_a = g->trans_a ? PERFT_CUBLAS_OP_T : PERFT_CUBLAS_OP_N, trans_b = g->trans_b ? PERFT_CUBLAS_OP_T : PERFT_CUBLAS_OP_N;
  int status = cublas.gemm_ex(handle, trans_a, trans_b, m, n, k, alpha, g->a, input_type, lda, g->b, input_type, ldb, beta, g->c, type,
                              ldc, compute, PERFT_CUBLAS_GEMM_DEFAULT);
  if (status != PERFT_CUBLAS_STATUS_SUCCESS)
    perft_fatal("cublasGemmEx(%c%c m=%d n=%d k=%d lda=%d ldb=%d ldc=%d, %s, compute type %d) failed at %s:%d: %s (%d): %s",
                g->trans_a ? 'T' : 'N', g->trans_b ? 'T' : 'N', m, n, k, lda, ldb, ldc, g->f64 ? "f64" : g->bf16_inputs ? "bf16 inputs" : "f32", compute,
                __FILE__, __LINE__, cublas.status_name(status), status, cublas.status_string(status));
}

void gemm_backend_wait(void) {
  cuda_driver_start();
  CU_CHECK(cuda.cuStreamSynchronize(cuda_stream()));
}

void gemm_backend_zero(void *c, size_t bytes) {
  cuda_driver_start();
  CU_CHECK(cuda.cuMemsetD8Async((CUdeviceptr)(uintptr_t)c, 0, bytes, cuda_stream()));
}
