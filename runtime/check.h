/* check.h: fatal-error helpers for the runtime (llm.c style).
 *
 * Every failure the user can cause (bad command line, bad file, bad manifest) ends in one line
 *   perft: error: <what went wrong> (<hint>)
 * on stderr and exit status 1. Failures that can only come from a bug print file:line too.
 */
#ifndef PERFT_RUNTIME_CHECK_H
#define PERFT_RUNTIME_CHECK_H

#include <stddef.h>
#include <stdio.h>

/* "123 B", "20480 B (20.0 KiB)", "..(x MiB)", "..(x GiB)": a size for people */
void format_bytes(size_t bytes, char *out, size_t out_size);
/* Prints "perft: error: " + the formatted message + newline on stderr, then exit(1). */
void perft_fatal(const char *format, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Same as perft_fatal but names the runtime source location: for "cannot happen" cases. */
void perft_fatal_at(const char *file, int line, const char *format, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

void *malloc_check(size_t size, const char *file, int line);
void *calloc_check(size_t count, size_t size, const char *file, int line);
void *realloc_check(void *pointer, size_t size, const char *file, int line);
char *strdup_check(const char *text, const char *file, int line);
FILE *fopen_check(const char *path, const char *mode, const char *file, int line);

#define mallocCheck(size) malloc_check((size), __FILE__, __LINE__)
#define callocCheck(count, size) calloc_check((count), (size), __FILE__, __LINE__)
#define reallocCheck(pointer, size) realloc_check((pointer), (size), __FILE__, __LINE__)
#define strdupCheck(text) strdup_check((text), __FILE__, __LINE__)
#define fopenCheck(path, mode) fopen_check((path), (mode), __FILE__, __LINE__)
#define assertCheck(condition)                                                                     \
  do {                                                                                             \
    if (!(condition)) perft_fatal_at(__FILE__, __LINE__, "internal check failed: %s", #condition); \
  } while (0)

#endif
