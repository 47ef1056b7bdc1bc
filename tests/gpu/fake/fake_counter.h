/* fake_counter.h — a counter of the fake driver or cuBLAS (fake_cuda.c, fake_cublas.c), read through
 * the library the runtime loaded; exits when that library is not the fake (LD_LIBRARY_PATH unset). */
#ifndef PERFT_TESTS_FAKE_COUNTER_H
#define PERFT_TESTS_FAKE_COUNTER_H

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

static inline int fake_counter(const char *library, const char *name) {
  void *handle = dlopen(library, RTLD_NOW | RTLD_NOLOAD);
  int (*counter)(void) = handle ? (int (*)(void))dlsym(handle, name) : NULL;
  if (!counter) {
    fprintf(stderr, "%s is not the fake (no %s): set LD_LIBRARY_PATH\n", library, name);
    exit(1);
  }
  return counter();
}

#endif
