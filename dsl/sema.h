/* sema.h — declaration-level checks that need no sizes (sema.c). */
#ifndef PERFT_DSL_SEMA_H
#define PERFT_DSL_SEMA_H

#include "ast.h"
#include "diagnostics.h"

/* Checks names, parameter lists and statement placement of every
 * declaration; reports each problem; returns the number of errors. */
int sema_check_declarations(const AstProgram *program, Diagnostics *diagnostics);

/* The top-level declaration called `name` (the first one), or NULL. */
const AstDecl *sema_find_decl(const AstProgram *program, const char *name);

/* 1 if `name` is a builtin function (silu, softmax, top_k, ...). */
int sema_is_builtin(const char *name);
/* The builtin nearest to `name` by edit distance (at most 2 edits), or NULL. */
const char *sema_closest_builtin(const char *name);
/* The builtins, space-separated (for messages). */
const char *sema_builtin_list(void);

#endif
