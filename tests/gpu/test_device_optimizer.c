/* test_device_optimizer.c: the optimizer perft-emit-optimizer generates for GPU targets
 * (passes/emit_optimizer.c), here in a cuda-host object — the same kernels, run on the CPU — against
 * the runtime's C optimizer (runtime/optimizer.c) on every gradient of the program:
 *   perft_adamw equals adamw_update bit for bit (params and both moments), over three steps with
 *   clipping and weight decay;
 *   perft_grad_norm's partial sums (LANES a gradient) add up to global_grad_norm's sum of squares
 *   (to a relative 1e-12: only the order of a double sum differs), and each lane holds exactly
 *   the squares of its own elements in optimizer.h's order (chunk by chunk; the program's
 *   gradients are of one chunk and of two, so the scratch is used).
 * Ends with "test_device_optimizer: PASS" or "... FAIL (n checks)". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "optimizer.h"
#include "program.h"

#include "test_check.h"

static uint32_t state = 2026;
static float uniform(void) { /* in [-1, 1) */
  state = state * 1664525u + 1013904223u;
  return (float)((state >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static float *floats(int64_t n, float scale) {
  float *x = malloc((size_t)n * sizeof *x);
  for (int64_t i = 0; i < n; i++) x[i] = scale * uniform();
  return x;
}

static float *copy_of(const float *x, int64_t n) {
  float *y = malloc((size_t)n * sizeof *y);
  memcpy(y, x, (size_t)n * sizeof *y);
  return y;
}

int main(void) {
  Manifest manifest;
  char error[512];
  if (!manifest_parse(perft_manifest, &manifest, error, sizeof error)) {
    fprintf(stderr, "test_device_optimizer: %s\n", error);
    return 1;
  }
  int G = manifest.num_grads;
  int64_t lanes = manifest.optimizer_lanes;
  CHECK(perft_adamw && perft_grad_norm && lanes > 0 && G > 0);
  if (failures) return 1;

  float **p = calloc((size_t)G, sizeof *p), **g = calloc((size_t)G, sizeof *g), **m = calloc((size_t)G, sizeof *m),
        **v = calloc((size_t)G, sizeof *v), **p_c = calloc((size_t)G, sizeof *p), **m_c = calloc((size_t)G, sizeof *m),
        **v_c = calloc((size_t)G, sizeof *v);
  int64_t *n = calloc((size_t)G, sizeof *n);
  double *partials = calloc((size_t)(G * lanes), sizeof *partials);
  void **adamw_buffers = calloc((size_t)(4 * G + 1), sizeof(void *)), **norm_buffers = calloc((size_t)(2 * G + 1), sizeof(void *));
  norm_buffers[2 * G] = calloc((size_t)manifest.optimizer_scratch + 1, sizeof(double));
  int64_t most_chunks = 0;
  AdamwConstants constants;
  for (int t = 0; t < G; t++) {
    n[t] = manifest.grads[t].num_elements;
    p[t] = floats(n[t], 0.5f), g[t] = floats(n[t], 3.0f), m[t] = floats(n[t], 0.1f), v[t] = floats(n[t], 0.01f);
    for (int64_t i = 0; i < n[t]; i++) v[t][i] = fabsf(v[t][i]); /* second moments are never negative */
    p_c[t] = copy_of(p[t], n[t]), m_c[t] = copy_of(m[t], n[t]), v_c[t] = copy_of(v[t], n[t]);
    void *four[4] = {p[t], g[t], m[t], v[t]};
    memcpy(&adamw_buffers[4 * t], four, sizeof four);
    norm_buffers[t] = g[t];
    norm_buffers[G + t] = partials + t * lanes;
    if (norm_chunks(n[t]) > most_chunks) most_chunks = norm_chunks(n[t]);
  }
  CHECK(lanes == NORM_LANES && most_chunks > 1 && manifest.optimizer_scratch == most_chunks * NORM_LANES);
  adamw_buffers[4 * G] = &constants;

  /* the gradient norm */
  perft_grad_norm(norm_buffers);
  double sum = 0;
  for (int64_t i = 0; i < G * lanes; i++) sum += partials[i];
  double want = global_grad_norm(g, n, G);
  CHECK(fabs(sqrt(sum) - want) <= 1e-12 * want);
  for (int t = 0; t < G; t++)
    for (int64_t lane = 0; lane < lanes; lane++) {
      double own = 0;
      for (int64_t c = 0; c < norm_chunks(n[t]); c++) {
        double chunk_sum = 0; /* the chunk's lane sum, then added to the lane's (0 + x = x: one chunk too) */
        int64_t first = c * norm_chunk(n[t]), end = first + norm_chunk(n[t]) < n[t] ? first + norm_chunk(n[t]) : n[t];
        for (int64_t i = first + lane; i < end; i += lanes) chunk_sum += (double)g[t][i] * g[t][i];
        own += chunk_sum;
      }
      CHECK(partials[t * lanes + lane] == own);
    }

  /* three AdamW steps with clipping and weight decay, both ways */
  OptimizerConfig config;
  optimizer_config_defaults(&config);
  config.weight_decay = 0.1;
  for (int step = 1; step <= 3; step++) {
    double lr = 1e-2 / step, scale = step == 2 ? 0.37 : 1.0;
    constants = adamw_constants(&config, lr, scale, step);
    perft_adamw(adamw_buffers);
    for (int t = 0; t < G; t++) adamw_update(&config, p_c[t], g[t], m_c[t], v_c[t], n[t], lr, scale, step);
  }
  int64_t differ = 0;
  for (int t = 0; t < G; t++)
    differ += memcmp(p[t], p_c[t], (size_t)n[t] * sizeof(float)) != 0 || memcmp(m[t], m_c[t], (size_t)n[t] * sizeof(float)) != 0 ||
              memcmp(v[t], v_c[t], (size_t)n[t] * sizeof(float)) != 0;
  CHECK(differ == 0);
  int64_t elements = 0;
  for (int t = 0; t < G; t++) elements += n[t];
  if (failures) printf("test_device_optimizer: FAIL (%d checks)\n", failures);
  else printf("test_device_optimizer: PASS (%d gradients, %lld elements, %lld lanes: AdamW bit for bit, norm to 1e-12)\n",
              G, (long long)elements, (long long)lanes);
  return failures != 0;
}
