/* diagnostics.h — `file:line:col: error: message`, the source line, a caret.
 *
 *   moe.perft:34:7: error: undefined name 'q'
 *     y = q + 1
 *         ^
 */
#ifndef PERFT_DSL_DIAGNOSTICS_H
#define PERFT_DSL_DIAGNOSTICS_H

#include <stdio.h>

#include "ast.h"
#include "graph.h"

typedef struct {
  FILE *out;          /* where messages go; NULL discards them */
  const char *source; /* the whole source text, for the quoted line; may be NULL */
  int error_count;
  const AstList *files; /* AstSourceFile*: the text of a location whose file is one of these is
                           quoted from it (imported libraries); may be NULL */
} Diagnostics;

#if defined(__GNUC__)
#define DIAG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define DIAG_PRINTF(f, a)
#endif

/* An error at `loc` (loc.line == 0: no position, printed as `perft: error: ...`). After
 * LIMIT_ERRORS (dsl_limits.h) errors, the next prints `perft: error: too many errors (20), stopping
 * now` and later ones are only counted: callers that loop over statements ask diag_stopped. */
void diag_error(Diagnostics *diagnostics, SourceLocation loc, const char *format, ...) DIAG_PRINTF(3, 4);

/* 1 once more than LIMIT_ERRORS errors were reported: stop looking for more. */
int diag_stopped(const Diagnostics *diagnostics);

/* Prints line `line` of the file at `path` and a caret under `column`; nothing
 * when the file cannot be read. For errors found after parsing (e.g. in MLIR). */
void diag_quote_source_line(FILE *out, const char *path, int line, int column);

#endif
