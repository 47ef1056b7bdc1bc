/* report.h — `perftc --report`: what a program trains and what it costs. */
#ifndef PERFT_REPORT_H
#define PERFT_REPORT_H

#include <mlir-c/IR.h>
#include <stdio.h>

enum { REPORT_MAX_KINDS = 64 };

/* The kernels of @train_step: each op kind with its count, in order of first appearance,
 * and the bytes of every tensor they write. */
typedef struct {
  MlirStringRef names[REPORT_MAX_KINDS];
  int counts[REPORT_MAX_KINDS], kinds, total;
  double bytes;
} KernelCounts;

void report_count_kernels(MlirModule module, KernelCounts *counts);

/* Prints, for a module after autodiff and fusion (@forward and @train_step):
 *   parameters: base (frozen / trainable), adapters, trainable and % of the base;
 *   GEMM FLOPs per token, forward and backward (matmuls and grouped matmuls);
 *   the kernels of @train_step, one per op, with counts `before` fusion and now, and the
 *   bytes of intermediates they write.
 * Returns 0 when the module has no @train_step. */
int report_print(MlirModule module, const char *title, const KernelCounts *before, FILE *out);

#endif
