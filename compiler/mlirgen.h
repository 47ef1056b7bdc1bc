/* mlirgen.h — the elaborated graph (dsl/graph.h) becomes an MLIR module. */
#ifndef PERFT_MLIRGEN_H
#define PERFT_MLIRGEN_H

#include "graph.h"

#include <mlir-c/IR.h>

/* Builds `func.func @forward(params..., inputs...) -> (loss, outputs...)`.
 * Parameters carry {perft.param = NAME, perft.trainable, perft.init = "..."},
 * inputs {perft.input = NAME}; results {perft.loss} / {perft.output = NAME}.
 * The module carries perft.tokens and, for a teacher-data loss,
 * perft.teacher = [input, output]. `float_bits` is 32, or 64 for gradient
 * checks. With frozen_bf16, every frozen parameter of rank 2 or more that is used only
 * as a GEMM's weight (x·Wᵀ, x·W, a bank in a route) or as an embedding table is bf16 (see
 * bf16_weights). Returns a null module after printing a diagnostic on failure. */
MlirModule mlirgen_module(MlirContext context, const Graph *graph, int float_bits, int frozen_bf16);

#endif
