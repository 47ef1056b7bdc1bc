/* diagnostics.c — error messages in the chibicc style: position, message,
 * the source line, and a caret under the column. */
#include "diagnostics.h"

#include "dsl_limits.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum { QUOTE_WIDTH = 160 }; /* a longer line is quoted as "..." and the 160 characters around the caret */

/* Prints line `line` (1-based) of `source` and a caret under `column`. */
static void print_source_line(FILE *out, const char *source, int line, int column) {
  const char *start = source;
  for (int current = 1; current < line; current++) {
    const char *newline = strchr(start, '\n');
    if (!newline) return;
    start = newline + 1;
  }
  const char *end = strchr(start, '\n');
  int length = end ? (int)(end - start) : (int)strlen(start);
  if (length > 0 && start[length - 1] == '\r') length--;
  int first = 0; /* the first character quoted */
  if (length > QUOTE_WIDTH && column - 1 > QUOTE_WIDTH / 2) first = column - 1 - QUOTE_WIDTH / 2;
  if (first > length - QUOTE_WIDTH && length > QUOTE_WIDTH) first = length - QUOTE_WIDTH;
  int shown = length - first < QUOTE_WIDTH ? length - first : QUOTE_WIDTH;
  const char *before = first > 0 ? "..." : "", *after = first + shown < length ? "..." : "";
  fprintf(out, "  %s%.*s%s\n  %s", before, shown, start + first, after, first > 0 ? "   " : "");
  for (int i = first; i < column - 1 && i < first + shown; i++) fputc(start[i] == '\t' ? '\t' : ' ', out);
  fputs("^\n", out);
}

int diag_stopped(const Diagnostics *diagnostics) { return diagnostics->error_count > LIMIT_ERRORS; }

void diag_error(Diagnostics *diagnostics, SourceLocation loc, const char *format, ...) {
  diagnostics->error_count++;
  FILE *out = diagnostics->out;
  if (!out || diagnostics->error_count > LIMIT_ERRORS + 1) return;
  if (diagnostics->error_count == LIMIT_ERRORS + 1) {
    fprintf(out, "perft: error: too many errors (%d), stopping now\n", LIMIT_ERRORS);
    return;
  }
  if (loc.line > 0)
    fprintf(out, "%s:%d:%d: error: ", loc.file ? loc.file : "<input>", loc.line, loc.column);
  else
    fputs("perft: error: ", out);
  va_list args;
  va_start(args, format);
  vfprintf(out, format, args);
  va_end(args);
  fputc('\n', out);
  const char *source = diagnostics->source;
  for (int i = 0; diagnostics->files && loc.file && i < diagnostics->files->count; i++) {
    const AstSourceFile *file = diagnostics->files->items[i];
    if (file->path == loc.file || strcmp(file->path, loc.file) == 0) {
      source = file->source;
      break;
    }
  }
  if (loc.line > 0 && source) print_source_line(out, source, loc.line, loc.column);
}

void diag_quote_source_line(FILE *out, const char *path, int line, int column) {
  FILE *file = fopen(path, "rb");
  if (!file) return;
  char *text = NULL;
  size_t length = 0, capacity = 0, got;
  char chunk[4096];
  while ((got = fread(chunk, 1, sizeof chunk, file)) > 0) {
    if (length + got + 1 > capacity) {
      capacity = 2 * (length + got + 1);
      char *grown = realloc(text, capacity);
      if (!grown) break;
      text = grown;
    }
    memcpy(text + length, chunk, got);
    length += got;
  }
  fclose(file);
  if (!text) return;
  text[length] = 0;
  print_source_line(out, text, line, column);
  free(text);
}
