/* gemm_step.c — times perft's generated GEMM kernels alone (bench/gemm.sh).
 *
 * Linked with the object of a one-GEMM program (`perftc --emit=obj --serial`): y = x·wᵀ (the dot
 * form) or y = x·w (the axpy form), then an MSE. Calls perft_forward, which runs the forward
 * GEMM and the MSE only, on buffers laid out in ABI order (docs/ABI.md) from the manifest,
 * filled with N(0, 1) before timing; prints the median over the timed calls.
 *
 * usage: gemm_step STEPS    prints: RESULT ms=<median ms per call>
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern const char perft_manifest[];
void perft_forward(void **buffers);

enum { MAX_BUFFERS = 16 };

static size_t elements(const char *dims) { /* "4x8x96" */
  size_t n = 1;
  for (const char *p = dims; *p;) {
    char *end;
    n *= (size_t)strtoull(p, &end, 10);
    p = *end == 'x' ? end + 1 : end;
    if (*end != 'x') break;
  }
  return n;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 20;
  if (steps < 1) steps = 1;
  /* buffers in ABI order: params, inputs, the loss, outputs, grads, the workspace */
  const char *roles[] = {"param ", "input ", "loss", "output ", "grad ", "workspace "};
  void *buffers[MAX_BUFFERS];
  int n = 0;
  for (int role = 0; role < 6; role++) {
    if (role == 2) { /* the loss: one float */
      buffers[n++] = calloc(1, 64);
      continue;
    }
    for (const char *line = perft_manifest; *line; line = strchr(line, '\n') + 1) {
      size_t length = strlen(roles[role]);
      if (!strncmp(line, roles[role], length) && n < MAX_BUFFERS) {
        char name[128], dims[128];
        size_t bytes;
        if (role == 5) bytes = (size_t)strtoull(line + length, NULL, 10);
        else if (sscanf(line + length, "%127s %127s", name, dims) == 2) bytes = elements(dims) * sizeof(float);
        else return fprintf(stderr, "gemm_step: bad manifest line\n"), 1;
        float *b = aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
        if (!b) return fprintf(stderr, "gemm_step: out of memory\n"), 1;
        for (size_t i = 0; i < bytes / sizeof(float); i++) b[i] = (float)((double)rand() / RAND_MAX - 0.5);
        buffers[n++] = b;
      }
      if (!strchr(line, '\n')) break;
    }
  }
  for (int i = 0; i < 3; i++) perft_forward(buffers); /* warm-up */
  double *ms = malloc((size_t)steps * sizeof(double));
  for (int i = 0; i < steps; i++) {
    double t0 = now_ms();
    perft_forward(buffers);
    ms[i] = now_ms() - t0;
  }
  qsort(ms, (size_t)steps, sizeof(double), by_value);
  printf("RESULT ms=%.4f\n", ms[steps / 2]);
  return 0;
}
