/* memory_cuda.c — launch.h's memory calls for the CUDA target: managed memory.
 *
 * The arena (launch.h) is one allocation made at start-up, reachable from the GPU's kernels and
 * from the runtime's C code (loading, AdamW, saving), which touches it only between steps, after
 * the step's kernels have finished (launch_cuda.c synchronises). Starting the driver here makes a
 * program without a GPU stop at its first allocation, before any work, with one clear line.
 * Before the first kernel (launch_cuda.c) the whole arena, which the host zeroed and loaded, is
 * prefetched to the GPU in one transfer (cuda_memory_prefetch) rather than faulted over page by page
 * by the first step's kernels.
 */
#include "launch.h"

#include "cuda_driver.h"

#include <stdio.h>
#include <string.h>

enum { CU_MEM_ATTACH_GLOBAL = 1, MOST_ALLOCATIONS = 8 };

/* the allocations not yet moved to the device (cuda_memory_prefetch) */
typedef struct {
  CUdeviceptr pointer;
  size_t bytes;
} Allocation;
static Allocation unmoved[MOST_ALLOCATIONS];
static int num_unmoved;

void *launch_memory_allocate(size_t bytes, size_t alignment) {
  cuda_driver_start();
  CUdeviceptr pointer = 0;
  CU_CHECK(cuda.cuMemAllocManaged(&pointer, bytes ? bytes : alignment, CU_MEM_ATTACH_GLOBAL));
  if (pointer % alignment) return NULL; /* the driver aligns to at least 256 bytes */
  memset((void *)(size_t)pointer, 0, bytes);
  if (num_unmoved < MOST_ALLOCATIONS) unmoved[num_unmoved++] = (Allocation){pointer, bytes};
  return (void *)(size_t)pointer;
}

void launch_memory_free(void *memory) {
  for (int i = 0; i < num_unmoved; i++)
    if (unmoved[i].pointer == (CUdeviceptr)(size_t)memory) unmoved[i] = unmoved[--num_unmoved];
  if (memory) CU_CHECK(cuda.cuMemFree((CUdeviceptr)(size_t)memory));
}

/* A driver or system without prefetching (CUDA_ERROR_NOT_SUPPORTED, or no cuMemPrefetchAsync)
 * leaves the pages to move on first touch: one note, and training goes on. */
void cuda_memory_prefetch(void) {
  static int noted;
  for (int i = 0; i < num_unmoved && !noted; i++) {
    const char *why = "the driver has no cuMemPrefetchAsync";
    if (cuda.cuMemPrefetchAsync) {
      CUresult result = cuda.cuMemPrefetchAsync(unmoved[i].pointer, unmoved[i].bytes, cuda_device(), cuda_stream());
      if (result == 0) continue;
      cuda.cuGetErrorName(result, &why);
    }
    fprintf(stderr, "perft: note: managed memory not prefetched to the GPU (%s); its pages move on first touch\n", why);
    noted = 1;
  }
  num_unmoved = 0;
}
