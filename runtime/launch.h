/* launch.h — the runtime's memory and launch calls: the part of the runtime that differs
 * between code generation targets (compiler/target.h; docs/TARGETS.md).
 *
 * The arena (arena.h: every parameter, input, output, gradient and the workspace) has two sides:
 * the device side, which the generated code reads and writes (the buffers arrays hold its
 * addresses), and the host side, which the runtime's C code reads and writes (loading, data,
 * losses, saving) and which mirrors all of the device side but the workspace. They are kept in step
 * by explicit copies (arena.c says when). Three memories implement this header:
 *   memory_cpu.c    the CPU target: one host allocation is both sides; the copies do nothing
 *   memory_split.c  cuda-host: two host allocations, copied with memcpy, so that cuda-host's tests
 *                   (which run the GPU kernels on the CPU) catch any copy the runtime forgets
 *   memory_cuda.c   the CUDA target: device memory (cuMemAlloc) and host memory, copied on the
 *                   program's one stream
 * The training loop runs the generated code only through launch_train_step and launch_forward
 * (launch_cpu.c: direct calls; launch_cuda.c: kernels on the stream, waited for at the end).
 */
#ifndef PERFT_RUNTIME_LAUNCH_H
#define PERFT_RUNTIME_LAUNCH_H

#include <stddef.h>

typedef struct {
  char *device;      /* (bytes) what the generated code reads and writes */
  char *host;        /* (host_bytes) the runtime's copy of the device side's first host_bytes */
  size_t bytes, host_bytes;
} LaunchMemory;

/* Both sides, zeroed, aligned to `alignment`, every page touched; 0 when memory is short. */
int launch_memory_allocate(LaunchMemory *memory, size_t bytes, size_t host_bytes, size_t alignment);
void launch_memory_free(LaunchMemory *memory);
/* Copies [offset, offset + bytes) of the host side to the device side, after the work issued so far
 * (the host side may change as soon as this returns). */
void launch_memory_to_device(const LaunchMemory *memory, size_t offset, size_t bytes);
/* Waits for the work issued so far, then copies [offset, offset + bytes) of the device side to the
 * host side. */
void launch_memory_to_host(const LaunchMemory *memory, size_t offset, size_t bytes);
/* Waits for the work issued so far, then copies `bytes` at a device address (any, such as the
 * expert offsets a kernel has just written: runtime/gemm.c) to host memory. */
void launch_memory_read(void *host, const void *device, size_t bytes);

/* One forward + backward of the generated program over the buffers (docs/ABI.md order). */
void launch_train_step(void **buffers);
/* Forward only: loss and outputs. */
void launch_forward(void **buffers);
/* Another entry point of the generated object (perft_grad_norm, perft_adamw), run to its end. */
void launch_call(void (*entry)(void **buffers), void **buffers);
/* Where the generated code runs, for the start-up banner's `compute` line. */
void launch_describe(char *text, size_t size);

#endif
