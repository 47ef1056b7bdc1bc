/* cuda_driver.h — the part of the CUDA driver API the GPU runtime uses, loaded at run time.
 *
 * cuda_driver_start() dlopens libcuda.so.1, resolves every function below, initialises the
 * driver and makes the primary context of device 0 (or $PERFT_CUDA_DEVICE) current. Without
 * the library or a GPU it ends the program with one clear line (perft: error: ...). Every call
 * goes through CU_CHECK, which names the call, the file and line, and the driver's error.
 * No CUDA header is needed to build it: the few types are declared here as the driver's ABI has them.
 */
#ifndef PERFT_RUNTIME_CUDA_DRIVER_H
#define PERFT_RUNTIME_CUDA_DRIVER_H

#include <stddef.h>

typedef int CUresult; /* 0: CUDA_SUCCESS */
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUgraph_st *CUgraph;
typedef struct CUgraphExec_st *CUgraphExec;

typedef struct {
  CUresult (*cuInit)(unsigned flags);
  CUresult (*cuDeviceGetCount)(int *count);
  CUresult (*cuDeviceGet)(CUdevice *device, int ordinal);
  CUresult (*cuDeviceGetName)(char *name, int length, CUdevice device);
  CUresult (*cuDeviceGetAttribute)(int *value, int attribute, CUdevice device);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *context, CUdevice device);
  CUresult (*cuCtxSetCurrent)(CUcontext context);
  CUresult (*cuCtxSynchronize)(void);
  CUresult (*cuMemAlloc)(CUdeviceptr *pointer, size_t bytes);
  CUresult (*cuMemGetInfo)(size_t *free_bytes, size_t *total_bytes);
  CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr destination, const void *source, size_t bytes, CUstream stream);
  CUresult (*cuMemcpyDtoHAsync)(void *destination, CUdeviceptr source, size_t bytes, CUstream stream);
  CUresult (*cuMemFree)(CUdeviceptr pointer);
  CUresult (*cuModuleLoadData)(CUmodule *module, const void *image);
  CUresult (*cuModuleGetFunction)(CUfunction *function, CUmodule module, const char *name);
  CUresult (*cuLaunchKernel)(CUfunction function, unsigned grid_x, unsigned grid_y, unsigned grid_z,
                             unsigned block_x, unsigned block_y, unsigned block_z, unsigned shared_bytes,
                             CUstream stream, void **parameters, void **extra);
  CUresult (*cuStreamCreate)(CUstream *stream, unsigned flags);
  CUresult (*cuStreamSynchronize)(CUstream stream);
  CUresult (*cuMemsetD8Async)(CUdeviceptr pointer, unsigned char value, size_t count, CUstream stream);
  /* CUDA graphs (launch_cuda.c's launch_call); NULL where the driver has none */
  CUresult (*cuStreamBeginCapture)(CUstream stream, int mode);
  CUresult (*cuStreamEndCapture)(CUstream stream, CUgraph *graph);
  CUresult (*cuGraphInstantiateWithFlags)(CUgraphExec *exec, CUgraph graph, unsigned long long flags);
  CUresult (*cuGraphLaunch)(CUgraphExec exec, CUstream stream);
  CUresult (*cuGraphDestroy)(CUgraph graph);
  CUresult (*cuGetErrorName)(CUresult error, const char **name);
  CUresult (*cuGetErrorString)(CUresult error, const char **text);
} CudaDriver;

extern CudaDriver cuda;

/* Loads and initialises the driver once (later calls return at once); exits without a GPU. */
void cuda_driver_start(void);
/* The one stream every kernel of the program runs on, and its device. */
CUstream cuda_stream(void);
CUdevice cuda_device(void);
/* "CUDA device 0: NVIDIA H200 (sm_90)" (starts the driver). */
const char *cuda_device_description(void);

void cuda_check(CUresult result, const char *call, const char *file, int line);
#define CU_CHECK(call) cuda_check((call), #call, __FILE__, __LINE__)

#endif
