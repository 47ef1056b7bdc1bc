/* launch.h — the runtime's memory and launch calls: the part of the runtime that differs
 * between code generation targets (compiler/target.h; docs/TARGETS.md).
 *
 * The arena (every parameter, input, output, gradient and the workspace) lives in memory
 * from launch_memory_allocate, which both the generated code and the runtime's C code
 * (loading, AdamW, saving) read and write; the training loop runs the generated code only
 * through launch_train_step and launch_forward. The CPU target uses host memory
 * (memory_cpu.c) and calls the generated functions directly (launch_cpu.c); a GPU target provides its own file
 * with memory both sides can reach and kernel launches, and links it instead.
 */
#ifndef PERFT_RUNTIME_LAUNCH_H
#define PERFT_RUNTIME_LAUNCH_H

#include <stddef.h>

/* `bytes` of zeroed memory aligned to `alignment`, every page touched; NULL on failure. */
void *launch_memory_allocate(size_t bytes, size_t alignment);
void launch_memory_free(void *memory);

/* One forward + backward of the generated program over the buffers (docs/ABI.md order). */
void launch_train_step(void **buffers);
/* Forward only: loss and outputs. */
void launch_forward(void **buffers);
/* Another entry point of the generated object (perft_grad_norm, perft_adamw), run to its end. */
void launch_call(void (*entry)(void **buffers), void **buffers);
/* Where the generated code runs, for the start-up banner's `compute` line. */
void launch_describe(char *text, size_t size);

#endif
