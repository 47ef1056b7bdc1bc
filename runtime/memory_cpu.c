/* memory_cpu.c — launch.h's memory calls for the CPU target: host memory. */
#include "launch.h"

#include <stdlib.h>
#include <string.h>

void *launch_memory_allocate(size_t bytes, size_t alignment) {
  void *memory = NULL;
  if (posix_memalign(&memory, alignment, bytes ? bytes : alignment) != 0) return NULL;
  memset(memory, 0, bytes); /* touch every page now, not in the first step */
  return memory;
}

void launch_memory_free(void *memory) { free(memory); }
