/* launch_cpu.c — launch.h's launch calls for the CPU target: direct calls into the
 * generated object (its memory calls: memory_cpu.c). */
#include "launch.h"

#include "program.h"

void launch_train_step(void **buffers) { perft_train_step(buffers); }

void launch_forward(void **buffers) { perft_forward(buffers); }
