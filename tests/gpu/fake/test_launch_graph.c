/* test_launch_graph.c: launch_call's CUDA graphs (runtime/launch_cuda.c) against fake_cuda.c. An
 * entry point that launches two kernels, called three times: the first call launches them (it
 * loads the kernels), the second captures them into a graph and launches it, the third only
 * launches the graph — two kernels a call either way, and no launch of its own after the capture.
 * `test_launch_graph plain` (PERFT_CUDA_GRAPH=0, or a driver refusing to capture: one note) must
 * launch the two kernels every call. Ends with "test_launch_graph: PASS" or "... FAIL (n checks)". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_driver.h"
#include "fake_counter.h"
#include "launch.h"

#include "test_check.h"

/* what launch_cuda.c also calls: the generated object's entry points (not used here) */
void perft_train_step(void **buffers) { (void)buffers; }
void perft_forward(void **buffers) { (void)buffers; }

void mgpuLaunchKernel(CUfunction function, intptr_t grid_x, intptr_t grid_y, intptr_t grid_z, intptr_t block_x,
                      intptr_t block_y, intptr_t block_z, int32_t shared_bytes, CUstream stream, void **parameters,
                      void **extra, size_t num_parameters);


static int launches(void) { return fake_counter("libcuda.so.1", "fake_cuda_launches"); }
static int graph_launches(void) { return fake_counter("libcuda.so.1", "fake_cuda_graph_launches"); }

static int entry_calls;
static void two_kernels(void **buffers) { /* as a generated perft_adamw: launches only */
  entry_calls++;
  void *parameters[1] = {&buffers};
  for (int i = 0; i < 2; i++)
    mgpuLaunchKernel((CUfunction)(uintptr_t)0xfa4e, 4, 1, 1, 256, 1, 1, 0, cuda_stream(), parameters, NULL, 1);
}

int main(int argc, char **argv) {
  int plain = argc > 1 && !strcmp(argv[1], "plain");
  cuda_driver_start();
  void *buffers[1] = {NULL};
  for (int call = 1; call <= 3; call++) {
    int launched = launches(), graphs = graph_launches();
    int entered = entry_calls;
    launch_call(two_kernels, buffers);
    CHECK(launches() - launched == 2);
    int graph_launched = graph_launches() - graphs;
    CHECK(graph_launched == (plain || call == 1 ? 0 : 1));
    CHECK(entry_calls - entered == (plain || call <= 2 ? 1 : 0)); /* the third call: the graph alone */
  }
  if (failures) printf("test_launch_graph: FAIL (%d checks)\n", failures);
  else printf("test_launch_graph: PASS (%s)\n", plain ? "plain launches" : "captured on the second call");
  return failures != 0;
}
