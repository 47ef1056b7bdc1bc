/* test_check.h — CHECK(condition) for the C unit tests: a failed condition is printed with its file
 * and line on stderr and counted in `failures` (the test's exit status and verdict line read it). */
#ifndef PERFT_TESTS_TEST_CHECK_H
#define PERFT_TESTS_TEST_CHECK_H

#include <stdio.h>

static int failures;
#define CHECK(condition)                                                            \
  do {                                                                              \
    if (!(condition)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
      failures++;                                                                   \
    }                                                                               \
  } while (0)

#endif
