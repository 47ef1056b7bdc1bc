/* check.c: fatal-error helpers; see check.h. */
#include "check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void perft_fatal(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fflush(stdout);
  fputs("perft: error: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  exit(1);
}

void perft_fatal_at(const char *file, int line, const char *format, ...) {
  va_list args;
  va_start(args, format);
  fflush(stdout);
  fprintf(stderr, "perft: error: %s:%d: ", file, line);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  exit(1);
}

void *malloc_check(size_t size, const char *file, int line) {
  void *pointer = malloc(size ? size : 1);
  if (!pointer)
    perft_fatal("%s:%d: out of memory allocating %zu bytes (hint: a smaller program, or more RAM)",
                file, line, size);
  return pointer;
}

void *realloc_check(void *pointer, size_t size, const char *file, int line) {
  void *grown = realloc(pointer, size ? size : 1);
  if (!grown)
    perft_fatal("%s:%d: out of memory allocating %zu bytes (hint: a smaller program, or more RAM)", file, line, size);
  return grown;
}

void *calloc_check(size_t count, size_t size, const char *file, int line) {
  void *pointer = calloc(count ? count : 1, size ? size : 1);
  if (!pointer)
    perft_fatal("%s:%d: out of memory allocating %zu x %zu bytes", file, line, count, size);
  return pointer;
}

char *strdup_check(const char *text, const char *file, int line) {
  size_t length = strlen(text);
  char *copy = malloc_check(length + 1, file, line);
  memcpy(copy, text, length + 1);
  return copy;
}

FILE *fopen_check(const char *path, const char *mode, const char *file, int line) {
  FILE *handle = fopen(path, mode);
  if (!handle)
    perft_fatal("cannot open '%s' (mode %s): %s (hint: check the path and its permissions) [%s:%d]",
                path, mode, strerror(errno), file, line);
  return handle;
}

void format_bytes(size_t bytes, char *out, size_t out_size) {
  if (bytes < 10 * 1024) snprintf(out, out_size, "%zu B", bytes);
  else if (bytes < 10 * 1024 * 1024) snprintf(out, out_size, "%zu B (%.1f KiB)", bytes, bytes / 1024.0);
  else if (bytes < (size_t)10 << 30) snprintf(out, out_size, "%zu B (%.1f MiB)", bytes, bytes / (1024.0 * 1024.0));
  else snprintf(out, out_size, "%zu B (%.1f GiB)", bytes, bytes / (1024.0 * 1024.0 * 1024.0));
}
