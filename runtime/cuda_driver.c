/* cuda_driver.c — see cuda_driver.h. */
#include "cuda_driver.h"

#include "check.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

CudaDriver cuda;

static int started;
static CUstream stream;
static char description[192];
static CUdevice device;

enum { ATTRIBUTE_COMPUTE_MAJOR = 75, ATTRIBUTE_COMPUTE_MINOR = 76 };

void cuda_check(CUresult result, const char *call, const char *file, int line) {
  if (result == 0) return;
  const char *name = "?", *text = "?";
  if (cuda.cuGetErrorName) cuda.cuGetErrorName(result, &name);
  if (cuda.cuGetErrorString) cuda.cuGetErrorString(result, &text);
  perft_fatal("%s failed at %s:%d: %s (%d): %s", call, file, line, name, result, text);
}

static void *symbol(void *library, const char *name) {
  void *address = dlsym(library, name);
  if (!address) perft_fatal("the CUDA driver library has no %s (a driver for CUDA 12 or newer is needed)", name);
  return address;
}

void cuda_driver_start(void) {
  if (started) return;
  void *library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!library)
    perft_fatal("this program was compiled for CUDA (perftc --target=cuda) and needs an NVIDIA GPU and its "
                "driver: cannot load libcuda.so.1 (%s); compile with --target=cpu to run here",
                dlerror());
#define RESOLVE(field, name) *(void **)&cuda.field = symbol(library, name)
  RESOLVE(cuGetErrorName, "cuGetErrorName");
  RESOLVE(cuGetErrorString, "cuGetErrorString");
  RESOLVE(cuInit, "cuInit");
  RESOLVE(cuDeviceGetCount, "cuDeviceGetCount");
  RESOLVE(cuDeviceGet, "cuDeviceGet");
  RESOLVE(cuDeviceGetName, "cuDeviceGetName");
  RESOLVE(cuDeviceGetAttribute, "cuDeviceGetAttribute");
  RESOLVE(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
  RESOLVE(cuCtxSetCurrent, "cuCtxSetCurrent");
  RESOLVE(cuCtxSynchronize, "cuCtxSynchronize");
  RESOLVE(cuMemAlloc, "cuMemAlloc_v2");
  RESOLVE(cuMemGetInfo, "cuMemGetInfo_v2");
  RESOLVE(cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2");
  RESOLVE(cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2");
  RESOLVE(cuMemFree, "cuMemFree_v2");
  RESOLVE(cuModuleLoadData, "cuModuleLoadData");
  RESOLVE(cuModuleGetFunction, "cuModuleGetFunction");
  RESOLVE(cuLaunchKernel, "cuLaunchKernel");
  RESOLVE(cuStreamCreate, "cuStreamCreate");
  RESOLVE(cuStreamSynchronize, "cuStreamSynchronize");
  RESOLVE(cuMemsetD8Async, "cuMemsetD8Async");
  *(void **)&cuda.cuStreamBeginCapture = dlsym(library, "cuStreamBeginCapture_v2"); /* optional: graphs */
  *(void **)&cuda.cuStreamEndCapture = dlsym(library, "cuStreamEndCapture");
  *(void **)&cuda.cuGraphInstantiateWithFlags = dlsym(library, "cuGraphInstantiateWithFlags");
  *(void **)&cuda.cuGraphLaunch = dlsym(library, "cuGraphLaunch");
  *(void **)&cuda.cuGraphDestroy = dlsym(library, "cuGraphDestroy");
#undef RESOLVE
  CUresult result = cuda.cuInit(0);
  if (result != 0) {
    const char *name = "?";
    cuda.cuGetErrorName(result, &name);
    perft_fatal("this program was compiled for CUDA (perftc --target=cuda) and found no usable NVIDIA GPU: "
                "cuInit: %s; compile with --target=cpu to run here",
                name);
  }
  int count = 0, ordinal = getenv("PERFT_CUDA_DEVICE") ? atoi(getenv("PERFT_CUDA_DEVICE")) : 0;
  CU_CHECK(cuda.cuDeviceGetCount(&count));
  if (ordinal < 0 || ordinal >= count)
    perft_fatal("no CUDA device %d (this machine has %d; set PERFT_CUDA_DEVICE)", ordinal, count);
  CU_CHECK(cuda.cuDeviceGet(&device, ordinal));
  int major = 0, minor = 0;
  CU_CHECK(cuda.cuDeviceGetAttribute(&major, ATTRIBUTE_COMPUTE_MAJOR, device));
  CU_CHECK(cuda.cuDeviceGetAttribute(&minor, ATTRIBUTE_COMPUTE_MINOR, device));
  char name[128] = "";
  CU_CHECK(cuda.cuDeviceGetName(name, sizeof name, device));
  if (major < 9)
    perft_fatal("CUDA device %d (%s) has compute capability %d.%d; the kernels are built for sm_90 (H100, H200)",
                ordinal, name, major, minor);
  snprintf(description, sizeof description, "CUDA device %d: %s (sm_%d%d)", ordinal, name, major, minor);
  CUcontext context;
  CU_CHECK(cuda.cuDevicePrimaryCtxRetain(&context, device));
  CU_CHECK(cuda.cuCtxSetCurrent(context));
  CU_CHECK(cuda.cuStreamCreate(&stream, 0));
  started = 1;
}

CUstream cuda_stream(void) { return stream; }
CUdevice cuda_device(void) { return device; }

const char *cuda_device_description(void) {
  cuda_driver_start();
  return description;
}
