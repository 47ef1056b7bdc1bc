/* parse.c — dsl_parse_file / dsl_parse_buffer: run the scanner and parser
 * over a source text and hand back the syntax tree. */
#include <stdlib.h>
#include <string.h>

#include "dsl.h"
#include "lexer_state.h"
#include "parser.h"
#define YYSTYPE PERFT_YYSTYPE
#define YYLTYPE PERFT_YYLTYPE
#include "lexer.h"

int perft_yyparse(yyscan_t scanner, AstProgram *program, Diagnostics *diagnostics);

AstProgram *dsl_parse_buffer(const char *path, const char *text, size_t length, FILE *diagnostics_out) {
  AstProgram *program = calloc(1, sizeof *program);
  if (!program) return NULL;
  program->path = arena_strdup(&program->arena, path);
  program->source = arena_strndup(&program->arena, text, length);

  Diagnostics diagnostics = {diagnostics_out, program->source, 0};
  LexerState state = {program, &diagnostics, 1, 1, 0, 0, 0};
  yyscan_t scanner;
  if (perft_yylex_init_extra(&state, &scanner) != 0) {
    dsl_free_program(program);
    return NULL;
  }
  YY_BUFFER_STATE buffer = perft_yy_scan_bytes(text, (int)length, scanner);
  int status = perft_yyparse(scanner, program, &diagnostics);
  perft_yy_delete_buffer(buffer, scanner);
  perft_yylex_destroy(scanner);

  if (status != 0 || diagnostics.error_count > 0) {
    dsl_free_program(program);
    return NULL;
  }
  return program;
}

AstProgram *dsl_parse_file(const char *path, FILE *diagnostics) {
  FILE *file = fopen(path, "rb");
  if (!file) {
    if (diagnostics) fprintf(diagnostics, "perft: error: cannot open '%s'\n", path);
    return NULL;
  }
  size_t capacity = 1 << 16, length = 0;
  char *text = malloc(capacity);
  size_t got;
  while (text && (got = fread(text + length, 1, capacity - length, file)) > 0) {
    length += got;
    if (length == capacity) {
      char *bigger = realloc(text, capacity * 2);
      if (!bigger) {
        free(text);
        text = NULL;
        break;
      }
      text = bigger;
      capacity *= 2;
    }
  }
  int read_failed = ferror(file);
  fclose(file);
  if (!text || read_failed) {
    if (diagnostics) fprintf(diagnostics, "perft: error: cannot read '%s'\n", path);
    free(text);
    return NULL;
  }
  AstProgram *program = dsl_parse_buffer(path, text, length, diagnostics);
  free(text);
  return program;
}

void dsl_free_program(AstProgram *program) {
  if (!program) return;
  arena_free(&program->arena);
  free(program);
}
