/* memory_cuda.c — launch.h's memory calls for the CUDA target: managed memory.
 *
 * The arena (launch.h) is one allocation made at start-up, reachable from the GPU's kernels and
 * from the runtime's C code (loading, AdamW, saving), which touches it only between steps, after
 * the step's kernels have finished (launch_cuda.c synchronises). Starting the driver here makes a
 * program without a GPU stop at its first allocation, before any work, with one clear line.
 */
#include "launch.h"

#include "cuda_driver.h"

#include <string.h>

enum { CU_MEM_ATTACH_GLOBAL = 1 };

void *launch_memory_allocate(size_t bytes, size_t alignment) {
  cuda_driver_start();
  CUdeviceptr pointer = 0;
  CU_CHECK(cuda.cuMemAllocManaged(&pointer, bytes ? bytes : alignment, CU_MEM_ATTACH_GLOBAL));
  if (pointer % alignment) return NULL; /* the driver aligns to at least 256 bytes */
  memset((void *)(size_t)pointer, 0, bytes);
  return (void *)(size_t)pointer;
}

void launch_memory_free(void *memory) {
  if (memory) CU_CHECK(cuda.cuMemFree((CUdeviceptr)(size_t)memory));
}
