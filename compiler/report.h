/* report.h — `perftc --report`: what a program trains and what it costs. */
#ifndef PERFT_REPORT_H
#define PERFT_REPORT_H

#include <mlir-c/IR.h>
#include <stdint.h>
#include <stdio.h>

enum { REPORT_MAX_KINDS = 64, NUMBER_TEXT = 64 /* the size of a buffer for count_text */ };

/* An exact count with commas ("1,234,567") in `buffer`, or "more than 9,223,372,036,854,775,807"
 * after an overflow. */
const char *count_text(int64_t count, int overflow, char *buffer);

/* The kernels of @train_step: each op kind with its count, in order of first appearance,
 * and the bytes of every tensor they write (counted with overflow checks: `bytes_overflow` is 1
 * when the sum, or a tensor's size, passes 2^63 - 1). */
typedef struct {
  MlirStringRef names[REPORT_MAX_KINDS];
  int counts[REPORT_MAX_KINDS], kinds, total;
  int64_t bytes;
  int bytes_overflow;
} KernelCounts;

void report_count_kernels(MlirModule module, KernelCounts *counts);

/* Prints, for a module after autodiff and fusion (@forward and @train_step):
 *   parameters: base (frozen / trainable), adapters, trainable and % of the base;
 *   GEMM FLOPs per token, forward and backward (matmuls and grouped matmuls);
 *   the kernels of @train_step, one per op, with counts `before` fusion and now, and the
 *   bytes of intermediates they write.
 * Parameter and byte counts are exact integers, computed with overflow checks; FLOPs are doubles.
 * Returns 0 when the module has no @train_step, or (after an error on stderr) when a parameter
 * count passes 2^63 - 1 (the front end refuses such programs; an .mlir input may not). */
int report_print(MlirModule module, const char *title, const KernelCounts *before, FILE *out);

/* For a GPU target's module after perft-emit-kernels: runs `launch_pipeline` (which makes the
 * gpu.launch ops) on a copy and prints each launch's threads and the loop iterations one of its
 * threads runs (report_launches.c). Returns 0 when the pipeline fails (its error on stderr). */
int report_launches(MlirModule module, const char *launch_pipeline, FILE *out);

#endif
