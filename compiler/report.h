/* report.h — `perftc --report`: what a program trains and what it costs. */
#ifndef PERFT_REPORT_H
#define PERFT_REPORT_H

#include <mlir-c/IR.h>
#include <stdio.h>

/* Prints, for a module after autodiff (@forward and @train_step):
 *   parameters: base (frozen / trainable), adapters, trainable and % of the base;
 *   GEMM FLOPs per token, forward and backward (matmuls and grouped matmuls);
 *   the kernels of @train_step, one per op, with counts.
 * Returns 0 when the module has no @train_step. */
int report_print(MlirModule module, const char *title, FILE *out);

#endif
