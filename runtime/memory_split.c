/* memory_split.c — launch.h's memory calls for cuda-host (the CUDA kernels run on the CPU, for
 * tests): the arena's device side and host side are two host allocations, copied with memcpy,
 * exactly where the CUDA target copies between GPU and host memory. A copy the runtime forgets
 * leaves one side stale — the loss, a gradient, a saved adapter, the data of a step — and the
 * tests of cuda-host (reference, examples, resume, dumps) see different numbers. */
#include "launch.h"

#include "check.h"

#include <stdlib.h>
#include <string.h>

static void *zeroed(size_t bytes, size_t alignment) {
  void *block = NULL;
  if (posix_memalign(&block, alignment, bytes ? bytes : alignment) != 0) return NULL;
  memset(block, 0, bytes);
  return block;
}

int launch_memory_allocate(LaunchMemory *memory, size_t bytes, size_t host_bytes, size_t alignment) {
  *memory = (LaunchMemory){.device = zeroed(bytes, alignment), .host = zeroed(host_bytes, alignment),
                           .bytes = bytes, .host_bytes = host_bytes};
  if (memory->device && memory->host) return 1;
  launch_memory_free(memory);
  return 0;
}

void launch_memory_free(LaunchMemory *memory) {
  free(memory->device);
  free(memory->host);
  *memory = (LaunchMemory){0};
}

static void check_range(const LaunchMemory *memory, size_t offset, size_t bytes) {
  if (offset > memory->host_bytes || bytes > memory->host_bytes - offset)
    perft_fatal_at(__FILE__, __LINE__, "a copy of bytes [%zu, +%zu) beyond the arena's host side (%zu bytes)", offset,
                   bytes, memory->host_bytes);
}

void launch_memory_to_device(const LaunchMemory *memory, size_t offset, size_t bytes) {
  check_range(memory, offset, bytes);
  memcpy(memory->device + offset, memory->host + offset, bytes);
}

void launch_memory_to_host(const LaunchMemory *memory, size_t offset, size_t bytes) {
  check_range(memory, offset, bytes);
  memcpy(memory->host + offset, memory->device + offset, bytes);
}

void launch_memory_read(void *host, const void *device, size_t bytes) { memcpy(host, device, bytes); }
