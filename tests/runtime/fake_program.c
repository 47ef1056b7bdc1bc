/* fake_program.c: a hand-written stand-in for the object perftc generates (docs/ABI.md), so that
 * the runtime can be tested before the compiler exists.
 *
 * The program (T = 8 tokens, D = 4 in, C = 3 out):
 *   W_eff = w + experts[0] + experts[1]          (4, 3)
 *   y     = x @ W_eff + b                        (8, 3)
 *   loss  = mean((y - target)^2)                 over 8*3 elements
 *   dy    = 2 (y - target) / 24                  (8, 3), kept in the workspace
 *   grad_w = x^T @ dy                            (4, 3)
 * With `teacher target y` the teacher's experts are perturbed and its w is 0, so the student can
 * reach loss 0 by learning w = the summed perturbation.
 *
 * It also checks the runtime's promises: the workspace is 64-byte aligned, and no heap allocation
 * happens in the training loop (malloc/calloc/realloc are wrapped with -Wl,--wrap; from the second
 * call on, the count must not move).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { T = 8, D = 4, C = 3, E = 2 };

const char perft_manifest[] =
    "perft-manifest 1\n"
    "dtype f32\n"
    "tokens 8\n"
    "param w 4x3 trainable normal 0 0.5\n"
    "param b 3 frozen normal 0 0.1\n"
    "param experts 2x4x3 frozen normal 0 0.3\n"
    "input x 8x4\n"
    "input target 8x3\n"
    "output y 8x3\n"
    "grad w 4x3\n"
    "future-record this kind is unknown to the runtime and must be ignored\n"
    "teacher target y\n"
#ifdef FAKE_DEVICE_OPTIMIZER
    "optimizer device 256 0\n" /* a GPU target's record, without the entry points it promises */
#endif
    "workspace 96\n";

/* ---- allocation watch ---- */
static unsigned long allocation_count;
void *__real_malloc(size_t size);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *pointer, size_t size);
void *__wrap_malloc(size_t size) { allocation_count++; return __real_malloc(size); }
void *__wrap_calloc(size_t count, size_t size) { allocation_count++; return __real_calloc(count, size); }
void *__wrap_realloc(void *pointer, size_t size) { allocation_count++; return __real_realloc(pointer, size); }

static void check_runtime_promises(void **buffers) {
  static int calls;
  static unsigned long count_at_second_call;
  calls++;
  if (calls == 2) count_at_second_call = allocation_count;
  if (calls > 2 && allocation_count != count_at_second_call) {
    fprintf(stderr, "fake_program: %lu heap allocations inside the training loop\n",
            allocation_count - count_at_second_call);
    abort();
  }
  if ((uintptr_t)buffers[8] % 64 != 0) {
    fprintf(stderr, "fake_program: workspace is not 64-byte aligned\n");
    abort();
  }
}

/* buffers: w, b, experts, x, target, loss, y, grad_w, workspace */
static void forward(void **buffers) {
  const float *w = buffers[0];        /* (D, C) */
  const float *b = buffers[1];        /* (C) */
  const float *experts = buffers[2];  /* (E, D, C) */
  const float *x = buffers[3];        /* (T, D) */
  const float *target = buffers[4];   /* (T, C) */
  float *loss = buffers[5];           /* (1) */
  float *y = buffers[6];              /* (T, C) */
  float *dy = buffers[8];             /* (T, C) workspace */
  float sum = 0.0f;
  for (int t = 0; t < T; t++)
    for (int c = 0; c < C; c++) {
      float acc = b[c];
      for (int d = 0; d < D; d++) {
        float weight = w[d * C + c];
        for (int e = 0; e < E; e++) weight += experts[(e * D + d) * C + c];
        acc += x[t * D + d] * weight;
      }
      y[t * C + c] = acc;
      float diff = acc - target[t * C + c];
      sum += diff * diff;
      dy[t * C + c] = 2.0f * diff / (float)(T * C);
    }
  *loss = sum / (float)(T * C);
}

void perft_forward(void **buffers) {
  check_runtime_promises(buffers);
  forward(buffers);
}

void perft_train_step(void **buffers) {
  check_runtime_promises(buffers);
  forward(buffers);
  const float *x = buffers[3];   /* (T, D) */
  const float *dy = buffers[8];  /* (T, C) */
  float *grad_w = buffers[7];    /* (D, C), overwritten */
  for (int d = 0; d < D; d++)
    for (int c = 0; c < C; c++) {
      float acc = 0.0f;
      for (int t = 0; t < T; t++) acc += x[t * D + d] * dy[t * C + c];
      grad_w[d * C + c] = acc;
    }
}
