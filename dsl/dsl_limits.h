/* dsl_limits.h — what the front end refuses, in one place (docs/LANGUAGE.md, "Limits").
 *
 * Each limit keeps every program of 1 MB or less going through the front end and the MLIR
 * generator, or refused with a clear error, in well under a second (tests/dsl/check_limits.sh),
 * and keeps sizes, element counts and byte counts far inside int64: a tensor has at most 2^40 elements, so its bytes (at most 8 per element) and
 * the sum over every node of a graph (at most LIMIT_GRAPH_NODES of them) stay below 2^63.
 */
#ifndef PERFT_DSL_DSL_LIMITS_H
#define PERFT_DSL_DSL_LIMITS_H

#include <stdint.h>

enum {
  LIMIT_ERRORS = 20,              /* errors printed; the next one stops the run ("too many errors") */
  LIMIT_PARSER_DEPTH = 10000,     /* the parser's stack: open parentheses, brackets, unary '-' */
  LIMIT_EXPRESSION_DEPTH = 1000,  /* levels of one expression (operators in a chain, nested calls), and
                                     of expressions nested through the blocks they apply */
  LIMIT_LAYERS = 1024,            /* layers of one stack (`layers l in L`) */
  LIMIT_GRAPH_NODES = 20000,      /* graph nodes: params, inputs, operations (a 128-layer MoE has ~5000) */
  LIMIT_ELABORATION_STEPS = 1000000, /* statements, expressions, names of every block and layer expanded */
};

#define LIMIT_DIM ((int64_t)2147483647)              /* 2^31 - 1: the largest size of one axis */
#define LIMIT_TENSOR_ELEMENTS ((int64_t)1 << 40)     /* 2^40: the most elements of one tensor */
#define LIMIT_INTEGER_LITERAL 1e15                   /* the largest integer literal */
#define LIMIT_REAL_LITERAL 1e300                     /* the largest magnitude of a real literal */
#define LIMIT_SMALLEST_REAL_LITERAL 1e-300           /* the smallest nonzero magnitude of one */

#endif
