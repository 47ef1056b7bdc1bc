/* ptx.h — the PTX of a module's GPU kernels (after the cuda target's ptx_pipeline: a gpu.binary
 * whose object is PTX text), and what ptxas makes of it: perftc --emit=ptx and --report. */
#ifndef PERFT_PTX_H
#define PERFT_PTX_H

#include <mlir-c/IR.h>
#include <stdio.h>

/* Writes the PTX of every gpu.binary in the module to `path` ("-": stdout); 0 on failure (said). */
int ptx_write(MlirModule module, const char *path);

/* Assembles the PTX with ptxas for sm_90 and prints each kernel's registers, shared memory,
 * stack and spills (ptxas --verbose); 0 when ptxas fails or refuses the PTX (its output shown). */
int ptx_report(MlirModule module, FILE *out);

#endif
