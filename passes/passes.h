/* passes.h — perft's MLIR passes, written in C with mlirCreateExternalPass. */
#ifndef PERFT_PASSES_H
#define PERFT_PASSES_H

#include <mlir-c/Pass.h>

/* Reverse-mode autodiff: @forward -> @train_step (passes/autodiff.c).
 * `wrong_rule` names an op whose backward rule is deliberately corrupted
 * (test-only; NULL or "" for none). */
MlirPass perft_create_autodiff_pass(const char *wrong_rule);

/* Tensors -> memrefs in one workspace; perft ops -> loops (passes/lower_perft.c). */
typedef struct {
  int reuse_workspace; /* 0: every intermediate gets its own range (for comparison) */
  int parallel;        /* GEMM blocks as scf.parallel (OpenMP threads); 0: all serial */
  int64_t parallel_min_work; /* only GEMMs of at least this many multiply-adds go parallel */
} LowerPerftOptions;
MlirPass perft_create_lower_perft_pass(LowerPerftOptions options);

/* Erase ops whose results nobody reads (passes/prune_dead.c). */
MlirPass perft_create_prune_dead_pass(void);

/* Shared by the passes: find a func.func by name in a module op (null when absent). */
MlirOperation perft_find_function(MlirOperation module, const char *name);

#endif
