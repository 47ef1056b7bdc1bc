/* memory_cuda.c — launch.h's memory calls for the CUDA target: the arena's device side is one
 * cuMemAlloc made at start-up (plain device memory: no page faults, no migrations), its host side
 * ordinary host memory; the copies between them go on the program's one stream. cuBLAS (its handle,
 * its workspace and the grouped GEMMs' pointer array) starts here too, so every allocation on the
 * device is made before the first step. Starting the driver here makes a program without a GPU stop
 * at its first allocation, before any work, with one clear line.
 */
#include "launch.h"

#include "check.h"
#include "cuda_driver.h"
#include "gemm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static CUdeviceptr device_address(const void *pointer) { return (CUdeviceptr)(uintptr_t)pointer; }

int launch_memory_allocate(LaunchMemory *memory, size_t bytes, size_t host_bytes, size_t alignment) {
  cuda_driver_start();
  *memory = (LaunchMemory){.bytes = bytes, .host_bytes = host_bytes};
  CUdeviceptr device = 0;
  CUresult result = cuda.cuMemAlloc(&device, bytes ? bytes : alignment);
  if (result != 0) { /* how much the GPU has, in the message */
    size_t free_bytes = 0, total_bytes = 0;
    const char *name = "?";
    cuda.cuGetErrorName(result, &name);
    if (cuda.cuMemGetInfo(&free_bytes, &total_bytes) != 0) free_bytes = total_bytes = 0;
    char wanted[64], free_text[64], total_text[64];
    format_bytes(bytes, wanted, sizeof wanted);
    format_bytes(free_bytes, free_text, sizeof free_text);
    format_bytes(total_bytes, total_text, sizeof total_text);
    perft_fatal("cannot allocate the %s arena on %s: %s, %s free of %s (hint: fewer tokens a step, "
                "--frozen-dtype=bf16, or a GPU with more memory)",
                wanted, cuda_device_description(), name, free_text, total_text);
  }
  memory->device = (char *)(uintptr_t)device;
  if (device % alignment || posix_memalign((void **)&memory->host, alignment, host_bytes ? host_bytes : alignment)) {
    launch_memory_free(memory);
    return 0;
  }
  memset(memory->host, 0, host_bytes);
  CU_CHECK(cuda.cuMemsetD8Async(device, 0, bytes, cuda_stream()));
  CU_CHECK(cuda.cuStreamSynchronize(cuda_stream()));
  gemm_backend_start(); /* cuBLAS's memory: after the arena, whose failure says how much the GPU has */
  return 1;
}

void launch_memory_free(LaunchMemory *memory) {
  if (memory->device) CU_CHECK(cuda.cuMemFree(device_address(memory->device)));
  free(memory->host);
  *memory = (LaunchMemory){0};
}

/* from pageable host memory: the driver stages the bytes before returning, so the host side may
 * change as soon as the call returns */
void launch_memory_to_device(const LaunchMemory *memory, size_t offset, size_t bytes) {
  if (bytes)
    CU_CHECK(cuda.cuMemcpyHtoDAsync(device_address(memory->device + offset), memory->host + offset, bytes,
                                    cuda_stream()));
}

void launch_memory_to_host(const LaunchMemory *memory, size_t offset, size_t bytes) {
  launch_memory_read(memory->host + offset, memory->device + offset, bytes);
}

void launch_memory_read(void *host, const void *device, size_t bytes) {
  if (bytes) CU_CHECK(cuda.cuMemcpyDtoHAsync(host, device_address(device), bytes, cuda_stream()));
  CU_CHECK(cuda.cuStreamSynchronize(cuda_stream()));
}
