/* lexer_state.h — what the scanner (lexer.l) keeps between tokens. */
#ifndef PERFT_DSL_LEXER_STATE_H
#define PERFT_DSL_LEXER_STATE_H

#include "ast.h"
#include "diagnostics.h"

typedef struct {
  AstProgram *program;
  Diagnostics *diagnostics;
  int line, column;        /* position of the next character, 1-based */
  int nesting;             /* depth of open ( and [; newlines inside them are spaces */
  int previous_ends_statement; /* the previous token may end a statement */
  int at_end;              /* the end-of-input terminator has been sent */
} LexerState;

#endif
