/* target.h — what differs between code generation targets, in one description.
 *
 * The driver picks one with --target=NAME: cpu (target_cpu.c), cuda and cuda-host
 * (target_cuda.c: the CUDA kernels, and the same kernels run on the CPU for tests). Everything
 * target-specific that the compiler does goes through it:
 *   kernels          the op table's column (passes/op_table.h: TargetKind), used by
 *                    perft-emit-kernels{target=NAME}
 *   loops → threads  the upstream passes that map scf.parallel onto threads (cpu: OpenMP)
 *                    and lower everything to the LLVM dialect: `lowering_pipeline`
 *   machine          the LLVM triple, CPU and features of the generated object
 *   linking          the runtime library and the system libraries of the executable
 *   runtime          memory and launch calls: the runtime library named here implements
 *                    runtime/launch.h (cpu: runtime/memory_cpu.c and launch_cpu.c:
 *                    host memory, direct calls)
 * docs/TARGETS.md says which files a second target adds and which it leaves alone.
 */
#ifndef PERFT_TARGET_H
#define PERFT_TARGET_H

#include "op_table.h"

/* The runtime library an executable links (runtime/CMakeLists.txt), by its memory and launch calls
 * (runtime/launch.h): libperftrt.a (host memory, direct calls), libperftrt_split.a (the same with
 * the arena's device and host sides apart, for cuda-host), libperftrt_cuda.a (the GPU). */
typedef enum { RUNTIME_CPU, RUNTIME_SPLIT, RUNTIME_CUDA } TargetRuntime;

typedef struct {
  const char *name;
  TargetKind kind;
  /* Upstream passes from perft-emit-kernels' output to the LLVM dialect. */
  const char *lowering_pipeline;
  /* A GPU target: the passes from there to a gpu.binary of PTX text (--emit=ptx, --report);
   * NULL for the others. */
  const char *ptx_pipeline;
  /* A GPU target: the passes that make the kernels' gpu.launch ops from perft-emit-kernels'
   * output (the start of both pipelines above; --report's table of launches); NULL for the CPU. */
  const char *launch_pipeline;
  /* The machine: NULL triple = the host's; host_cpu = tune for the host CPU and its features. */
  const char *triple;
  int host_cpu;
  /* The runtime library, and what follows it on the link line (NULL-terminated). */
  TargetRuntime runtime;
  const char *const *link_libraries;
  /* Kernel options: GEMM blocks on threads, from this many multiply-adds on; the width of the
   * vectors of GEMM microkernels (bytes; 0: the host CPU's widest; -1: none). */
  int64_t parallel_min_work;
  int vector_bytes;
  /* GEMMs as calls into the runtime's GEMM library (passes/library_gemm.h, runtime/gemm.h), and the
   * fusion passes left out because they would move such GEMMs into generated kernels (NULL-terminated
   * names of compiler/driver.c's fusions; NULL: none). */
  int gemm_library;
  const char *const *skipped_fusions;
  /* AdamW and the gradient norm as generated kernels (perft-emit-optimizer), run where the
   * gradients are; 0: the runtime's C optimizer (runtime/optimizer.c) on the host. */
  int device_optimizer;
} Target;

/* The CPU's lowering from loops to the LLVM dialect (target_cpu.c), which cuda-host shares.
 * convert-func-to-llvm must run before convert-openmp-to-llvm: the latter also converts
 * function signatures, with full memref descriptors instead of the bare pointers the ABI
 * wrappers pass. */
#define CPU_LOOPS_TO_LLVM                                                                                 \
  "func.func(convert-linalg-to-loops),convert-scf-to-openmp,expand-strided-metadata,"                   \
  "lower-affine,convert-vector-to-llvm,finalize-memref-to-llvm,convert-scf-to-cf,convert-math-to-llvm," \
  "convert-arith-to-llvm,convert-index-to-llvm,convert-cf-to-llvm,"                                     \
  "convert-func-to-llvm{use-bare-ptr-memref-call-conv=1},convert-openmp-to-llvm,"                       \
  "reconcile-unrealized-casts"

/* The CPU target's link line after the runtime (OpenMP, libm), which cuda-host shares. */
extern const char *const cpu_link_libraries[];

/* The target called `name`, or NULL. */
const Target *target_find(const char *name);
/* the names of the targets, comma-separated (for messages) */
const char *target_list(void);

#endif
