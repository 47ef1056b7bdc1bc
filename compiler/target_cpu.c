/* target_cpu.c — the CPU target: the host's x86-64 (or whatever LLVM runs on), OpenMP threads.
 *
 * Kernels: scf loops over memrefs (passes/cpu_kernels.c, matmul_kernels.c). Big GEMMs
 * put their blocks in scf.parallel, which convert-scf-to-openmp maps onto LLVM's OpenMP
 * runtime (libomp; OMP_NUM_THREADS sets the threads). The object is tuned for the host
 * CPU (its vector width and features) and linked with libperftrt (host memory, direct calls).
 */
#include "target.h"

#ifndef PERFT_OPENMP_DIR
#define PERFT_OPENMP_DIR "/usr/lib/llvm-19/lib"
#endif

const char *const cpu_link_libraries[] = {"-L" PERFT_OPENMP_DIR, "-lomp", "-Wl,-rpath," PERFT_OPENMP_DIR,
                                          "-lm", NULL};

const Target cpu_target = {
    .name = "cpu",
    .kind = TARGET_CPU,
    .lowering_pipeline = CPU_LOOPS_TO_LLVM,
    .triple = NULL,
    .host_cpu = 1,
    .runtime = RUNTIME_CPU,
    .link_libraries = cpu_link_libraries,
    .parallel_min_work = 1 << 22,
    /* 0: the host's widest (codegen_host_vector_bytes: 64 bytes with AVX-512, 32 with AVX2). A
     * wider vector than the CPU's would be split by LLVM, and the dot form's 16 accumulators spill. */
    .vector_bytes = 0,
};
