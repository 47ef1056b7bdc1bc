/* dsl.h — the public entry points of the .perft front end.
 *
 *   AstProgram *program = dsl_parse_file("moe.perft", stderr);
 *   Graph *graph = program ? dsl_elaborate(program, overrides, n, stderr) : NULL;
 *
 * Every error found is printed to `diagnostics` as `file:line:col: error: ...`
 * with the source line and a caret, up to 20 (then `too many errors`, and the run
 * stops; dsl_limits.h); a NULL result means at least one error.
 */
#ifndef PERFT_DSL_H
#define PERFT_DSL_H

#include <stddef.h>
#include <stdio.h>

#include "graph.h"

typedef struct { const char *name; long long value; } DimOverride;
typedef struct AstProgram AstProgram;

/* Where `use NAME` finds NAME.perft after the importing file's directory and $PERFT_LIB
 * (the driver passes the source tree's dsl/lib); NULL forgets it. */
void dsl_set_library_path(const char *dir);
/* Parse a file (and the libraries it uses); prints diagnostics to `diagnostics`; returns NULL on any error. */
AstProgram *dsl_parse_file(const char *path, FILE *diagnostics);
/* The same for text already in memory (`length` bytes, need not end in NUL); `path` names it in messages. */
AstProgram *dsl_parse_buffer(const char *path, const char *text, size_t length, FILE *diagnostics);
/* An indented tree with line:col on every node; used by `perftc --emit=ast` and golden tests. */
void dsl_print_ast(const AstProgram *program, FILE *out);
/* Check and elaborate; NULL on error (diagnostics printed, up to 20).
 * `overrides` replace the values of top-level `dim`s (perftc -DNAME=VALUE). */
Graph *dsl_elaborate(const AstProgram *program, const DimOverride *overrides, int num_overrides,
                     FILE *diagnostics);
/* One line per node, then outputs, loss, teacher target and tokens; for golden tests. */
void dsl_print_graph(const Graph *graph, FILE *out);
void dsl_free_program(AstProgram *program);
void dsl_free_graph(Graph *graph);

#endif
