/* dialect.h — the MLIR context perftc and perft-opt work in, with perft's dialects loaded. */
#ifndef PERFT_DIALECT_H
#define PERFT_DIALECT_H

#include <mlir-c/IR.h>

/* Creates a context with every upstream dialect, the LLVM translations, the
 * upstream passes, the perft and perft_buffer dialects (IRDL, from the op table) and a
 * diagnostic handler that prints `location: error: message` to stderr. */
MlirContext perft_context_create(void);

#endif
