/* target_cuda.c — the CUDA target (NVIDIA sm_90: H100, H200), and cuda-host, its kernels on the CPU.
 *
 * Kernels: the op table's cuda column (passes/op_table.h): the loop nests of the CPU kernels,
 * built with Kernel.gpu (every independent loop an scf.parallel at the finest grain).
 * perft-gpu-launch makes each kernel function's work gpu.launch ops (a thread an iteration of a
 * parallel loop; other work on one thread). Then:
 *   cuda       gpu-kernel-outlining moves the launch bodies into a gpu.module, which goes through
 *              NVVM to a fatbin for sm_90 (gpu-module-to-binary: the toolkit's ptxas and
 *              fatbinary), embedded in the object; the host side calls the seven mgpu* functions
 *              of runtime/launch_cuda.c (the CUDA driver API, loaded with dlopen at start-up).
 *   cuda-host  for tests: perft-gpu-host turns each gpu.launch back into CPU loops over its blocks
 *              (OpenMP threads) and threads, so the same kernel bodies — their arithmetic and
 *              indexing — run in CI without a GPU, under every test of the CPU target.
 *   cuda-host-reversed  the same with every launch's blocks and threads in the opposite order: a
 *              race-free kernel gives cuda-host's bits (tests/gpu/check_thread_order.sh).
 */
#include "target.h"

#ifndef PERFT_CUDA_DIR
#define PERFT_CUDA_DIR "/usr/local/cuda"
#endif

/* perft-gpu-launch's input: every linalg op left (fills, elementwise ops the kernels declined)
 * as scf.parallel loops too */
#define GPU_LAUNCHES "func.func(convert-linalg-to-parallel-loops),perft-gpu-launch"
#define GPU_KERNELS GPU_LAUNCHES ","

/* the host side, after the kernels have left: as the CPU target's, without OpenMP */
#define HOST_LOWERING                                                                                    \
  "arith-expand,expand-strided-metadata,lower-affine,convert-scf-to-cf,convert-math-to-llvm,"          \
  "convert-arith-to-llvm,convert-index-to-llvm,finalize-memref-to-llvm,"                               \
  "gpu-to-llvm{use-bare-pointers-for-host=1 use-bare-pointers-for-kernels=1},convert-cf-to-llvm,"      \
  "convert-func-to-llvm{use-bare-ptr-memref-call-conv=1},reconcile-unrealized-casts"

/* the kernels: outlined into a gpu.module, lowered through NVVM, compiled for sm_90 */
#define GPU_MODULE_TO_NVVM                                                                                \
  "gpu-kernel-outlining,perft-gpu-one-module,nvvm-attach-target{chip=sm_90 features=+ptx80 O=3},"                             \
  "gpu.module(arith-expand,expand-strided-metadata,lower-affine,convert-scf-to-cf,"                       \
  "convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1},convert-index-to-llvm,reconcile-unrealized-casts),"

static const char *const cuda_link_libraries[] = {"-ldl", "-lm", NULL};

/* The dense and grouped GEMMs run on cuBLAS (runtime/gemm_cublas.c; cuda-host: runtime/gemm_host.c,
 * which sums as the generated kernels do). perft-fuse-route would make the expert GEMMs gathered
 * and combined ones, and perft-fuse-join would join an adapter into the experts' W2: both generated
 * kernels, far from tensor-core rates. Without them the routed rows are gathered and combined by
 * generated kernels (dispatch, combine) around the library's grouped GEMMs. perft-fuse-lora-chain
 * keeps a LoRA's r-wide intermediate in a CPU core's L1 by running 32 rows' dropout and both GEMMs
 * on one thread: on a GPU that is M/32 threads each walking 32·D·(r+1) steps (128 threads at
 * M = 4,096), so here the dropout stays a kernel of a thread an element and the down-projection a
 * library GEMM (perft-fuse-epilogue still takes the up-projection's scale and add). */
static const char *const library_skipped_fusions[] = {"route", "join", "lora-chain", NULL};

const Target cuda_target = {
    .name = "cuda",
    .kind = TARGET_CUDA,
    .lowering_pipeline = GPU_KERNELS GPU_MODULE_TO_NVVM "gpu-module-to-binary{format=fatbin toolkit=" PERFT_CUDA_DIR
                         "}," HOST_LOWERING,
    .ptx_pipeline = GPU_KERNELS GPU_MODULE_TO_NVVM "gpu-module-to-binary{format=isa toolkit=" PERFT_CUDA_DIR "}",
    .launch_pipeline = GPU_LAUNCHES,
    .triple = NULL,
    .host_cpu = 1,
    .runtime = RUNTIME_CUDA,
    .link_libraries = cuda_link_libraries,
    .parallel_min_work = 0,
    .vector_bytes = -1, /* no explicit vectors: a GPU thread works on scalars */
    .gemm_library = 1,
    .skipped_fusions = library_skipped_fusions,
    .device_optimizer = 1,
};

#define CUDA_HOST_TARGET(NAME, GPU_HOST)                                                               \
  {                                                                                                    \
    .name = NAME, .kind = TARGET_CUDA, .lowering_pipeline = GPU_KERNELS GPU_HOST "," CPU_LOOPS_TO_LLVM, \
    .launch_pipeline = GPU_LAUNCHES, .triple = NULL, .host_cpu = 1,                                    \
    .runtime = RUNTIME_SPLIT, /* device and host memory apart, as on the GPU: every copy tested */     \
    .link_libraries = cpu_link_libraries, .parallel_min_work = 0, .vector_bytes = -1, .gemm_library = 1, \
    .skipped_fusions = library_skipped_fusions, .device_optimizer = 1,                                 \
  }
const Target cuda_host_target = CUDA_HOST_TARGET("cuda-host", "perft-gpu-host");
const Target cuda_host_reversed_target = CUDA_HOST_TARGET("cuda-host-reversed", "perft-gpu-host{reverse=1}");
