/* launch_cpu.c — launch.h's launch calls for the CPU target: direct calls into the
 * generated object (its memory calls: memory_cpu.c). */
#include "launch.h"

#include "program.h"

#include <stdio.h>
#include <stdlib.h>

void launch_train_step(void **buffers) { perft_train_step(buffers); }

void launch_forward(void **buffers) { perft_forward(buffers); }

void launch_call(void (*entry)(void **buffers), void **buffers) { entry(buffers); }

/* The generated code runs its big GEMMs on OpenMP threads (docs/ABI.md). */
void launch_describe(char *text, size_t size) {
  const char *threads = getenv("OMP_NUM_THREADS");
  if (threads) snprintf(text, size, "CPU, %s OpenMP threads for big GEMMs (OMP_NUM_THREADS)", threads);
  else snprintf(text, size, "CPU, OpenMP threads on all cores for big GEMMs (set OMP_NUM_THREADS to change)");
}
