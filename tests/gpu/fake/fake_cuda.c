/* fake_cuda.c — a stand-in libcuda.so.1 for tests (never shipped): the driver calls
 * runtime/cuda_driver.c resolves, on host memory, so the GPU runtime's own C code (start-up,
 * checks, memory, synchronisation, the cuBLAS backend, graphs) runs in CI. It cannot run kernels:
 * cuModuleLoadData and cuLaunchKernel fail with CUDA_ERROR_NOT_SUPPORTED (but see FAKE_KERNEL).
 * FAKE_CUDA_MAJOR=N: the device's compute capability (default 9); FAKE_CUDA_INIT_FAIL=1: cuInit
 * fails with CUDA_ERROR_NO_DEVICE. fake_cuda_synchronizations() counts stream synchronisations,
 * fake_cuda_copies() host-to-device copies, fake_cuda_copies_back() device-to-host ones. Its device
 * memory starts as garbage (0x5a bytes), as a GPU's may. */
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
enum { SUCCESS = 0, ERROR_OUT_OF_MEMORY = 2, ERROR_NO_DEVICE = 100, ERROR_NOT_SUPPORTED = 801, ATTRIBUTE_MAJOR = 75,
       ATTRIBUTE_MINOR = 76 };

static int synchronizations;
int fake_cuda_synchronizations(void) { return synchronizations; }

CUresult cuGetErrorName(CUresult error, const char **name) {
  *name = error == ERROR_NO_DEVICE         ? "CUDA_ERROR_NO_DEVICE"
          : error == ERROR_NOT_SUPPORTED ? "CUDA_ERROR_NOT_SUPPORTED"
          : error == ERROR_OUT_OF_MEMORY ? "CUDA_ERROR_OUT_OF_MEMORY"
                                         : "CUDA_ERROR_UNKNOWN";
  return SUCCESS;
}
CUresult cuGetErrorString(CUresult error, const char **text) {
  *text = error == ERROR_NO_DEVICE ? "no CUDA-capable device is detected" : "operation not supported (fake driver)";
  return SUCCESS;
}
CUresult cuInit(unsigned flags) {
  (void)flags;
  const char *fail = getenv("FAKE_CUDA_INIT_FAIL");
  return fail && *fail == '1' ? ERROR_NO_DEVICE : SUCCESS;
}
CUresult cuDeviceGetCount(int *count) { *count = 1; return SUCCESS; }
CUresult cuDeviceGet(int *device, int ordinal) { *device = ordinal; return SUCCESS; }
CUresult cuDeviceGetName(char *name, int length, int device) {
  (void)device;
  strncpy(name, "fake device", (size_t)length);
  return SUCCESS;
}
CUresult cuDeviceGetAttribute(int *value, int attribute, int device) {
  (void)device;
  const char *major = getenv("FAKE_CUDA_MAJOR");
  *value = attribute == ATTRIBUTE_MAJOR ? (major ? atoi(major) : 9) : 0;
  return SUCCESS;
}
CUresult cuDevicePrimaryCtxRetain(void **context, int device) { (void)device; *context = (void *)&synchronizations; return SUCCESS; }
CUresult cuCtxSetCurrent(void *context) { (void)context; return SUCCESS; }
CUresult cuCtxSynchronize(void) { synchronizations++; return SUCCESS; }
/* FAKE_CUDA_MEMORY=BYTES: the device's memory (default 141 GiB); an allocation past it is refused */
static size_t device_memory(void) {
  const char *limit = getenv("FAKE_CUDA_MEMORY");
  return limit ? (size_t)strtoull(limit, NULL, 10) : (size_t)141 << 30;
}
static size_t allocated;
CUresult cuMemGetInfo_v2(size_t *free_bytes, size_t *total_bytes) {
  *total_bytes = device_memory();
  *free_bytes = allocated < *total_bytes ? *total_bytes - allocated : 0;
  return SUCCESS;
}
CUresult cuMemAlloc_v2(unsigned long long *pointer, size_t bytes) {
  if (bytes > device_memory() - (allocated < device_memory() ? allocated : device_memory())) return ERROR_OUT_OF_MEMORY;
  allocated += bytes;
  void *p = aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!p) return ERROR_NOT_SUPPORTED;
  memset(p, 0x5a, bytes); /* device memory starts as garbage: the runtime must clear or fill it */
  *pointer = (unsigned long long)(size_t)p;
  return SUCCESS;
}
static int copies, copies_back;
int fake_cuda_copies(void) { return copies; }
int fake_cuda_copies_back(void) { return copies_back; }
CUresult cuMemcpyHtoDAsync_v2(unsigned long long destination, const void *source, size_t bytes, void *stream) {
  (void)stream;
  copies++;
  memcpy((void *)(size_t)destination, source, bytes);
  return SUCCESS;
}
CUresult cuMemcpyDtoHAsync_v2(void *destination, unsigned long long source, size_t bytes, void *stream) {
  (void)stream;
  copies_back++;
  memcpy(destination, (const void *)(size_t)source, bytes);
  return SUCCESS;
}
CUresult cuMemFree_v2(unsigned long long pointer) { free((void *)(size_t)pointer); return SUCCESS; }
CUresult cuModuleLoadData(void **module, const void *image) { (void)module, (void)image; return ERROR_NOT_SUPPORTED; }
CUresult cuModuleGetFunction(void **function, void *module, const char *name) {
  (void)function, (void)module, (void)name;
  return ERROR_NOT_SUPPORTED;
}
/* Kernels: only the function FAKE_KERNEL (a handle tests make up) "runs" — it only counts — and
 * while the stream captures, a launch is recorded into the graph instead (fake_cuda_launches() counts
 * the kernels run, a graph's replays included). FAKE_CUDA_NO_GRAPH=1: capturing is refused. */
enum { FAKE_KERNEL = 0xfa4e };
static int launches, capturing, captured, graph_launches;
int fake_cuda_launches(void) { return launches; }
int fake_cuda_graph_launches(void) { return graph_launches; }
CUresult cuLaunchKernel(void *function, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shared, void *stream, void **parameters, void **extra) {
  (void)gx, (void)gy, (void)gz, (void)bx, (void)by, (void)bz, (void)shared, (void)stream;
  (void)parameters, (void)extra;
  if (function != (void *)(size_t)FAKE_KERNEL) return ERROR_NOT_SUPPORTED;
  if (capturing) captured++;
  else launches++;
  return SUCCESS;
}
typedef struct {
  int kernels;
} FakeGraph;
CUresult cuStreamBeginCapture_v2(void *stream, int mode) {
  (void)stream, (void)mode;
  const char *refuse = getenv("FAKE_CUDA_NO_GRAPH");
  if (refuse && *refuse == '1') return ERROR_NOT_SUPPORTED;
  capturing = 1, captured = 0;
  return SUCCESS;
}
CUresult cuStreamEndCapture(void *stream, FakeGraph **graph) {
  (void)stream;
  if (!capturing) return ERROR_NOT_SUPPORTED;
  capturing = 0;
  *graph = malloc(sizeof **graph);
  (*graph)->kernels = captured;
  return SUCCESS;
}
CUresult cuGraphInstantiateWithFlags(FakeGraph **exec, FakeGraph *graph, unsigned long long flags) {
  (void)flags;
  *exec = malloc(sizeof **exec);
  **exec = *graph;
  return SUCCESS;
}
CUresult cuGraphDestroy(FakeGraph *graph) { free(graph); return SUCCESS; }
CUresult cuGraphLaunch(FakeGraph *exec, void *stream) {
  (void)stream;
  graph_launches++;
  launches += exec->kernels;
  return SUCCESS;
}
CUresult cuStreamCreate(void **stream, unsigned flags) { (void)flags; *stream = (void *)&synchronizations; return SUCCESS; }
CUresult cuStreamSynchronize(void *stream) { (void)stream; synchronizations++; return SUCCESS; }
CUresult cuMemsetD8Async(unsigned long long pointer, unsigned char value, size_t count, void *stream) {
  (void)stream;
  memset((void *)(size_t)pointer, value, count);
  return SUCCESS;
}
