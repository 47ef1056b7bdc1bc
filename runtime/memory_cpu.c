/* memory_cpu.c — launch.h's memory calls for the CPU target: one host allocation is both sides
 * of the arena, so the copies between them do nothing. */
#include "launch.h"

#include <stdlib.h>
#include <string.h>

int launch_memory_allocate(LaunchMemory *memory, size_t bytes, size_t host_bytes, size_t alignment) {
  void *block = NULL;
  if (posix_memalign(&block, alignment, bytes ? bytes : alignment) != 0) return 0;
  memset(block, 0, bytes); /* touch every page now, not in the first step */
  *memory = (LaunchMemory){.device = block, .host = block, .bytes = bytes, .host_bytes = host_bytes};
  return 1;
}

void launch_memory_free(LaunchMemory *memory) {
  free(memory->device);
  *memory = (LaunchMemory){0};
}

void launch_memory_to_device(const LaunchMemory *memory, size_t offset, size_t bytes) {
  (void)memory, (void)offset, (void)bytes;
}

void launch_memory_to_host(const LaunchMemory *memory, size_t offset, size_t bytes) {
  (void)memory, (void)offset, (void)bytes;
}

void launch_memory_read(void *host, const void *device, size_t bytes) {
  if (host != device) memcpy(host, device, bytes);
}
