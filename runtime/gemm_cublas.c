/* gemm_cublas.c — gemm.h's backend on the GPU: cuBLAS, loaded with dlopen at start-up (memory_cuda.c
 * calls gemm_backend_start with the arena's allocation), so an executable links without CUDA
 * libraries. Its device memory is allocated then too: cuBLAS's workspace (WORKSPACE_BYTES, handed
 * to it with cublasSetWorkspace, so it allocates none of its own during a step) and the grouped
 * GEMMs' pointer array.
 *
 * Every GEMM runs on the program's one stream (cuda_driver.h) with cublasGemmEx. float operands:
 * CUBLAS_COMPUTE_32F_FAST_16BF — tensor cores, inputs rounded to bf16, fp32 accumulation and
 * output; PERFT_GEMM_MATH=fp32 in the environment asks for CUBLAS_COMPUTE_32F instead (plain fp32
 * math, for comparing numbers with the CPU at fp32 tolerances). bf16 inputs (a frozen bf16 weight,
 * GEMM_BF16_INPUTS) with a float output: CUBLAS_COMPUTE_32F, tensor cores with fp32 accumulation.
 * double operands: CUBLAS_COMPUTE_64F.
 * A group of GEMMs (an expert's rows each, a (sequence, head) each: gemm_backend_run_group) is one
 * cublasGemmGroupedBatchedEx (cuBLAS 12.5 and later), each GEMM a group of its own: its sizes,
 * operations and scalars in host arrays, its three pointers copied to a device array on the stream
 * just before the call (allocated with the handle, GROUP_MOST GEMMs a call). Where cuBLAS has no
 * grouped GEMM, or refuses it for a kind of inputs (CUBLAS_STATUS_NOT_SUPPORTED or _INVALID_VALUE:
 * then one line on stderr, once), or PERFT_GEMM_GROUPED=0 asks so, each GEMM of a group is its
 * own cublasGemmEx.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
  CublasCreate create;
  CublasSetStream set_stream;
  CublasSetWorkspace set_workspace;
  CublasGemmEx gemm_ex;
  CublasGemmGroupedBatchedEx grouped; /* NULL before cuBLAS 12.5 */
  CublasStatusText status_name, status_string;
} cublas;
static struct cublasContext *handle;
static int compute_32f;
/* the kinds of inputs (f32, bf16, f64) cuBLAS's grouped GEMM has refused, and PERFT_GEMM_GROUPED=0 */
static int grouped_refused[3], grouped_off;
static CUdeviceptr group_pointers; /* 3 · GROUP_MOST pointers on the device: each GEMM's A, then B, then C */
static CUdeviceptr workspace;      /* (WORKSPACE_BYTES) cuBLAS's: 32 MiB, as NVIDIA advises for Hopper */
enum { GROUP_MOST = 4096, WORKSPACE_BYTES = 32 << 20 };

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

void gemm_backend_start(void) {
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
  *(void **)&cublas.set_workspace = symbol(library, "cublasSetWorkspace_v2");
  *(void **)&cublas.gemm_ex = symbol(library, "cublasGemmEx");
  *(void **)&cublas.grouped = dlsym(library, "cublasGemmGroupedBatchedEx");
  *(void **)&cublas.status_name = symbol(library, "cublasGetStatusName");
  *(void **)&cublas.status_string = symbol(library, "cublasGetStatusString");
  CUBLAS_CHECK(cublas.create(&handle));
  CUBLAS_CHECK(cublas.set_stream(handle, cuda_stream()));
  CU_CHECK(cuda.cuMemAlloc(&workspace, WORKSPACE_BYTES));
  CUBLAS_CHECK(cublas.set_workspace(handle, (void *)(uintptr_t)workspace, WORKSPACE_BYTES));
  const char *math = getenv("PERFT_GEMM_MATH");
  if (math && strcmp(math, "fp32") && strcmp(math, "bf16"))
    perft_fatal("PERFT_GEMM_MATH must be fp32 or bf16, not '%s'", math);
  compute_32f = math && !strcmp(math, "fp32");
  const char *grouped = getenv("PERFT_GEMM_GROUPED");
  if (grouped && strcmp(grouped, "0") && strcmp(grouped, "1"))
    perft_fatal("PERFT_GEMM_GROUPED must be 0 (a cublasGemmEx a GEMM) or 1 (grouped GEMMs), not '%s'", grouped);
  grouped_off = grouped && !strcmp(grouped, "0");
  if (cublas.grouped && !grouped_off)
    CU_CHECK(cuda.cuMemAlloc(&group_pointers, 3 * GROUP_MOST * sizeof(void *)));
}

static int int_size(int64_t v, const char *what) {
  if (v < 0 || v > INT_MAX) perft_fatal_at(__FILE__, __LINE__, "a GEMM's %s (%lld) is beyond cuBLAS's int", what, (long long)v);
  return (int)v;
}

/* A GEMM's data types and compute type: float operands on tensor cores (CUBLAS_COMPUTE_32F_FAST_16BF)
 * unless PERFT_GEMM_MATH=fp32; bf16 inputs with a float output: CUBLAS_COMPUTE_32F, which is tensor
 * cores with fp32 accumulation for them; double: CUBLAS_COMPUTE_64F */
typedef struct {
  int type, input_type, compute;
} GemmTypes;
static GemmTypes types_of(const ColumnGemm *g) {
  int type = g->f64 ? PERFT_CUDA_R_64F : PERFT_CUDA_R_32F;
  return (GemmTypes){
      .type = type,
      .input_type = g->bf16_inputs ? PERFT_CUDA_R_16BF : type,
      .compute = g->f64                         ? PERFT_CUBLAS_COMPUTE_64F
                 : compute_32f || g->bf16_inputs ? PERFT_CUBLAS_COMPUTE_32F
                                                 : PERFT_CUBLAS_COMPUTE_32F_FAST_16BF,
  };
}
static const char *types_text(const ColumnGemm *g) { return g->f64 ? "f64" : g->bf16_inputs ? "bf16 inputs" : "f32"; }

/* A GEMM's operations, sizes, leading dimensions and scalars as cuBLAS takes them */
typedef struct {
  int trans_a, trans_b, m, n, k, lda, ldb, ldc;
  float alpha32, beta32;
  double alpha64, beta64;
} CallArgs;
static CallArgs call_args(const ColumnGemm *g) {
  return (CallArgs){
      .trans_a = g->trans_a ? PERFT_CUBLAS_OP_T : PERFT_CUBLAS_OP_N,
      .trans_b = g->trans_b ? PERFT_CUBLAS_OP_T : PERFT_CUBLAS_OP_N,
      .m = int_size(g->m, "m"), .n = int_size(g->n, "n"), .k = int_size(g->k, "k"),
      .lda = int_size(g->lda > 0 ? g->lda : 1, "lda"), .ldb = int_size(g->ldb > 0 ? g->ldb : 1, "ldb"),
      .ldc = int_size(g->ldc, "ldc"),
      .alpha32 = 1, .beta32 = g->accumulate ? 1 : 0,
      .alpha64 = 1, .beta64 = g->accumulate ? 1 : 0,
  };
}

void gemm_backend_run(const ColumnGemm *g) {
  gemm_backend_start();
  if (g->m == 0 || g->n == 0) return;
  CallArgs c = call_args(g);
  const void *alpha = g->f64 ? (const void *)&c.alpha64 : &c.alpha32, *beta = g->f64 ? (const void *)&c.beta64 : &c.beta32;
  GemmTypes t = types_of(g);
  int status = cublas.gemm_ex(handle, c.trans_a, c.trans_b, c.m, c.n, c.k, alpha, g->a, t.input_type, c.lda, g->b,
                              t.input_type, c.ldb, beta, g->c, t.type, c.ldc, t.compute, PERFT_CUBLAS_GEMM_DEFAULT);
  if (status != PERFT_CUBLAS_STATUS_SUCCESS)
    perft_fatal("cublasGemmEx(%c%c m=%d n=%d k=%d lda=%d ldb=%d ldc=%d, %s, compute type %d) failed at %s:%d: %s (%d): %s",
                g->trans_a ? 'T' : 'N', g->trans_b ? 'T' : 'N', c.m, c.n, c.k, c.lda, c.ldb, c.ldc, types_text(g),
                t.compute, __FILE__, __LINE__, cublas.status_name(status), status, cublas.status_string(status));
}

/* One cublasGemmGroupedBatchedEx over count (≤ GROUP_MOST) GEMMs of one kind, none empty, each its
 * own group: CUBLAS_STATUS_SUCCESS, or the status with which cuBLAS refused the call before computing
 * anything (CUBLAS_STATUS_NOT_SUPPORTED: these types; CUBLAS_STATUS_INVALID_VALUE: arguments the
 * grouped GEMM does not take, such as a compute type: the caller runs the GEMMs one by one, and
 * cublasGemmEx names any argument that is wrong for it too). */
static int run_grouped(const ColumnGemm *gemms, int count) {
  static int trans_a[GROUP_MOST], trans_b[GROUP_MOST], m[GROUP_MOST], n[GROUP_MOST], k[GROUP_MOST], lda[GROUP_MOST],
      ldb[GROUP_MOST], ldc[GROUP_MOST], group_size[GROUP_MOST];
  static float alpha32[GROUP_MOST], beta32[GROUP_MOST];
  static double alpha64[GROUP_MOST], beta64[GROUP_MOST];
  static const void *pointers[3 * GROUP_MOST];
  for (int i = 0; i < count; i++) {
    CallArgs c = call_args(&gemms[i]);
    trans_a[i] = c.trans_a, trans_b[i] = c.trans_b, m[i] = c.m, n[i] = c.n, k[i] = c.k;
    lda[i] = c.lda, ldb[i] = c.ldb, ldc[i] = c.ldc, group_size[i] = 1;
    alpha32[i] = c.alpha32, beta32[i] = c.beta32, alpha64[i] = c.alpha64, beta64[i] = c.beta64;
    pointers[i] = gemms[i].a, pointers[count + i] = gemms[i].b, pointers[2 * count + i] = gemms[i].c;
  }
  /* from pageable memory: the driver stages the copy before returning, so `pointers` may change after */
  CU_CHECK(cuda.cuMemcpyHtoDAsync(group_pointers, pointers, 3 * (size_t)count * sizeof(void *), cuda_stream()));
  const void *const *on_device = (const void *const *)(uintptr_t)group_pointers;
  GemmTypes t = types_of(&gemms[0]);
  int f64 = gemms[0].f64;
  int status = cublas.grouped(handle, trans_a, trans_b, m, n, k, f64 ? (const void *)alpha64 : alpha32, on_device,
                              t.input_type, lda, on_device + count, t.input_type, ldb, f64 ? (const void *)beta64 : beta32,
                              (void *const *)(on_device + 2 * count), t.type, ldc, count, group_size, t.compute);
  if (status != PERFT_CUBLAS_STATUS_SUCCESS && status != PERFT_CUBLAS_STATUS_NOT_SUPPORTED &&
      status != PERFT_CUBLAS_STATUS_INVALID_VALUE)
    perft_fatal("cublasGemmGroupedBatchedEx(%d GEMMs, %s, compute type %d) failed at %s:%d: %s (%d): %s", count,
                types_text(&gemms[0]), t.compute, __FILE__, __LINE__, cublas.status_name(status), status,
                cublas.status_string(status));
  return status;
}

void gemm_backend_run_group(const ColumnGemm *gemms, int64_t count) {
  gemm_backend_start();
  int kind = gemms[0].f64 ? 2 : gemms[0].bf16_inputs ? 1 : 0;
  static ColumnGemm batch[GROUP_MOST];
  int64_t i = 0;
  while (i < count && cublas.grouped && !grouped_off && !grouped_refused[kind]) {
    int n = 0; /* the next GEMMs that are not empty */
    for (; i < count && n < GROUP_MOST; i++)
      if (gemms[i].m > 0 && gemms[i].n > 0) batch[n++] = gemms[i];
    if (n == 0) return;
    int status = n == 1 ? (gemm_backend_run(&batch[0]), PERFT_CUBLAS_STATUS_SUCCESS) : run_grouped(batch, n);
    if (status != PERFT_CUBLAS_STATUS_SUCCESS) {
      grouped_refused[kind] = 1;
      fprintf(stderr, "perft: note: cuBLAS's grouped GEMM does not take %s with compute type %d here (%s); "
                      "a cublasGemmEx a GEMM instead\n", types_text(&batch[0]), types_of(&batch[0]).compute,
              cublas.status_name(status));
      for (int j = 0; j < n; j++) gemm_backend_run(&batch[j]);
    }
  }
  for (; i < count; i++) gemm_backend_run(&gemms[i]);
}

void gemm_backend_zero(void *c, size_t bytes) {
  cuda_driver_start();
  CU_CHECK(cuda.cuMemsetD8Async((CUdeviceptr)(uintptr_t)c, 0, bytes, cuda_stream()));
}
