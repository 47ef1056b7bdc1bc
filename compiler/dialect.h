/* dialect.h — the MLIR context perftc works in, with the `perft` dialect loaded. */
#ifndef PERFT_DIALECT_H
#define PERFT_DIALECT_H

#include <mlir-c/IR.h>

/* Creates a context with every upstream dialect, the LLVM translations, the
 * upstream passes, the perft dialect (from its IRDL definition) and a
 * diagnostic handler that prints `location: error: message` to stderr. */
MlirContext perft_context_create(void);

/* The IRDL source of the perft dialect (also what `perftc --print-dialect` shows). */
extern const char perft_dialect_irdl[];

#endif
