/* launch_cuda.c — launch.h's launch calls for the CUDA target, and the seven mgpu* functions
 * the generated host code calls (MLIR's gpu-to-llvm lowering of gpu.launch_func; Debian ships
 * no libmlir_cuda_runtime, and we want one stream and no per-launch set-up anyway).
 *
 * For each launch MLIR 19's host code does: mgpuModuleLoad(fatbin), mgpuModuleGetFunction,
 * mgpuStreamCreate, mgpuLaunchKernel, mgpuStreamSynchronize, mgpuStreamDestroy,
 * mgpuModuleUnload. Here a module is loaded once (by the fatbin's address) and kept, a
 * function is looked up once, every launch goes on the program's one stream, and the
 * per-launch synchronisation is dropped: kernels on one stream run in order, and the host code
 * of a step only launches. launch_train_step and launch_forward synchronise once, at the end,
 * before the runtime copies anything back (arena.c).
 */
#include "launch.h"

#include "check.h"
#include "cuda_driver.h"
#include "program.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_MODULES = 16, MAX_FUNCTIONS = 4096 };

static struct {
  const void *image;
  CUmodule module;
} modules[MAX_MODULES];
static int num_modules;

static struct {
  CUmodule module;
  const char *name; /* the generated object's constant: compared by address */
  CUfunction function;
} functions[MAX_FUNCTIONS];
static int num_functions;

CUmodule mgpuModuleLoad(void *image, size_t bytes);
CUfunction mgpuModuleGetFunction(CUmodule module, const char *name);
CUstream mgpuStreamCreate(void);
void mgpuLaunchKernel(CUfunction function, intptr_t grid_x, intptr_t grid_y, intptr_t grid_z, intptr_t block_x,
                      intptr_t block_y, intptr_t block_z, int32_t shared_bytes, CUstream stream, void **parameters,
                      void **extra, size_t num_parameters);
void mgpuStreamSynchronize(CUstream stream);
void mgpuStreamDestroy(CUstream stream);
void mgpuModuleUnload(CUmodule module);

void launch_describe(char *text, size_t size) {
  const char *math = getenv("PERFT_GEMM_MATH");
  snprintf(text, size, "%s, one stream; GEMMs on cuBLAS (%s)", cuda_device_description(),
           math && !strcmp(math, "fp32") ? "fp32 math, PERFT_GEMM_MATH=fp32" : "tensor cores: bf16 inputs, fp32 accumulation");
}

CUmodule mgpuModuleLoad(void *image, size_t bytes) {
  (void)bytes;
  for (int i = 0; i < num_modules; i++)
    if (modules[i].image == image) return modules[i].module;
  if (num_modules == MAX_MODULES) perft_fatal_at(__FILE__, __LINE__, "more than %d GPU modules", MAX_MODULES);
  cuda_driver_start();
  CU_CHECK(cuda.cuModuleLoadData(&modules[num_modules].module, image));
  modules[num_modules].image = image;
  return modules[num_modules++].module;
}

CUfunction mgpuModuleGetFunction(CUmodule module, const char *name) {
  for (int i = num_functions; i-- > 0;)
    if (functions[i].name == name && functions[i].module == module) return functions[i].function;
  if (num_functions == MAX_FUNCTIONS) perft_fatal_at(__FILE__, __LINE__, "more than %d GPU kernels", MAX_FUNCTIONS);
  CU_CHECK(cuda.cuModuleGetFunction(&functions[num_functions].function, module, name));
  functions[num_functions].module = module;
  functions[num_functions].name = name;
  return functions[num_functions++].function;
}

CUstream mgpuStreamCreate(void) { return cuda_stream(); }

void mgpuLaunchKernel(CUfunction function, intptr_t grid_x, intptr_t grid_y, intptr_t grid_z, intptr_t block_x,
                      intptr_t block_y, intptr_t block_z, int32_t shared_bytes, CUstream stream, void **parameters,
                      void **extra, size_t num_parameters) {
  (void)num_parameters;
  CU_CHECK(cuda.cuLaunchKernel(function, (unsigned)grid_x, (unsigned)grid_y, (unsigned)grid_z, (unsigned)block_x,
                               (unsigned)block_y, (unsigned)block_z, (unsigned)shared_bytes, stream, parameters, extra));
}

void mgpuStreamSynchronize(CUstream stream) { (void)stream; } /* in order on one stream: see above */
void mgpuStreamDestroy(CUstream stream) { (void)stream; }     /* the program's one stream stays */
void mgpuModuleUnload(CUmodule module) { (void)module; }      /* loaded once, kept to the end */

void launch_train_step(void **buffers) {
  perft_train_step(buffers);
  CU_CHECK(cuda.cuStreamSynchronize(cuda_stream()));
}

void launch_forward(void **buffers) {
  perft_forward(buffers);
  CU_CHECK(cuda.cuStreamSynchronize(cuda_stream()));
}

/* launch_call's CUDA graphs. perft_grad_norm and perft_adamw launch the same kernels with the same
 * arguments every step (pointers into the arena; AdamW's step constants are read from it, copied
 * there before the call), so from its second call each is one graph captured from its launches and
 * replayed: their launches, one or more a trainable tensor (48 tensors in the 16-layer OLMoE PERFT-R
 * program), become two a step. PERFT_CUDA_GRAPH=0, or a driver that has or
 * captures no graphs (one note), gives plain launches. The step itself is not captured: the grouped
 * GEMMs' sizes come from the expert offsets, which the host reads during it. */
enum { MAX_GRAPHS = 8, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1 };
typedef struct {
  void (*entry)(void **buffers);
  void **buffers;
  int calls;
  CUgraphExec exec; /* NULL until captured */
} Graph;
static Graph graphs[MAX_GRAPHS];
static int num_graphs, graphs_off = -1; /* -1: not yet decided */

static int graphs_wanted(void) {
  if (graphs_off < 0) {
    const char *wanted = getenv("PERFT_CUDA_GRAPH");
    if (wanted && strcmp(wanted, "0") && strcmp(wanted, "1"))
      perft_fatal("PERFT_CUDA_GRAPH must be 0 (plain launches) or 1 (the optimizer as CUDA graphs), not '%s'", wanted);
    graphs_off = (wanted && !strcmp(wanted, "0")) || !cuda.cuStreamBeginCapture || !cuda.cuStreamEndCapture ||
                 !cuda.cuGraphInstantiateWithFlags || !cuda.cuGraphLaunch || !cuda.cuGraphDestroy;
  }
  return !graphs_off;
}

static void graphs_refused(const char *call, CUresult result) {
  const char *name = "?";
  cuda.cuGetErrorName(result, &name);
  fprintf(stderr, "perft: note: %s: %s; the optimizer's kernels are launched one by one\n", call, name);
  graphs_off = 1;
}

/* Captures entry's launches into a graph and launches it; 0 when the driver would not (then nothing
 * of entry has run) */
static int capture(int g, void (*entry)(void **buffers), void **buffers) {
  CUresult result = cuda.cuStreamBeginCapture(cuda_stream(), CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
  if (result != 0) return graphs_refused("cuStreamBeginCapture", result), 0;
  entry(buffers);
  CUgraph graph = NULL;
  result = cuda.cuStreamEndCapture(cuda_stream(), &graph);
  if (result != 0) return graphs_refused("cuStreamEndCapture", result), 0;
  result = cuda.cuGraphInstantiateWithFlags(&graphs[g].exec, graph, 0);
  CU_CHECK(cuda.cuGraphDestroy(graph));
  if (result != 0) return graphs_refused("cuGraphInstantiateWithFlags", result), 0;
  CU_CHECK(cuda.cuGraphLaunch(graphs[g].exec, cuda_stream()));
  return 1;
}

void launch_call(void (*entry)(void **buffers), void **buffers) {
  int g = 0;
  while (g < num_graphs && (graphs[g].entry != entry || graphs[g].buffers != buffers)) g++;
  if (g == num_graphs && num_graphs < MAX_GRAPHS) graphs[num_graphs++] = (Graph){entry, buffers, 0, NULL};
  if (g == MAX_GRAPHS || !graphs_wanted()) entry(buffers);
  else if (graphs[g].exec) CU_CHECK(cuda.cuGraphLaunch(graphs[g].exec, cuda_stream()));
  else if (graphs[g].calls++ == 0 || !capture(g, entry, buffers)) entry(buffers); /* the first call loads the kernels */
  CU_CHECK(cuda.cuStreamSynchronize(cuda_stream()));
}
