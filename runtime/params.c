/* params.c: parameter initialisation, weight and input loading, and the teacher's parameters. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "program.h"
#include "rng.h"
#include "safetensors.h"

#define PROBLEMS_SIZE 16384

void params_initialise(const Manifest *manifest, Arena *arena, uint64_t seed,
                       const char *weights_path, WeightsPolicy policy) {
  Rng rng;
  rng_seed(&rng, seed, RNG_STREAM_INIT);
  for (int p = 0; p < manifest->num_params; p++) {
    const ParamSpec *param = &manifest->params[p];
    float *data = arena->params[p]; /* (param dims) */
    int64_t count = param->tensor.num_elements;
    switch (param->init) {
      case INIT_NORMAL: rng_fill_normal(&rng, data, count, param->init_mean, param->init_std); break;
      case INIT_ZEROS: memset(data, 0, (size_t)count * sizeof(float)); break;
      case INIT_ONES: for (int64_t i = 0; i < count; i++) data[i] = 1.0f; break;
    }
  }
  if (!weights_path) return;

  char error[1024];
  SafetensorsFile file;
  if (!safetensors_open(weights_path, &file, error, sizeof error)) perft_fatal("%s", error);
  char *problems = callocCheck(PROBLEMS_SIZE, 1);
  int num_problems = 0;
  for (int p = 0; p < manifest->num_params; p++) {
    const ParamSpec *param = &manifest->params[p];
    int required = policy == WEIGHTS_ALL_REQUIRED || !param->trainable;
    if (!required && !safetensors_find(&file, param->tensor.name)) continue; /* keeps its init */
    if (!safetensors_read_tensor(&file, param->tensor.name, &param->tensor, arena->params[p],
                                 problems, PROBLEMS_SIZE))
      num_problems++;
  }
  safetensors_close(&file);
  if (num_problems)
    perft_fatal("weights %s: %d parameter%s missing or mismatched: %s", weights_path,
                num_problems, num_problems == 1 ? "" : "s", problems);
  free(problems);
}

void inputs_load(const Manifest *manifest, Arena *arena, const char *path) {
  char error[1024];
  SafetensorsFile file;
  if (!safetensors_open(path, &file, error, sizeof error)) perft_fatal("%s", error);
  char *problems = callocCheck(PROBLEMS_SIZE, 1);
  int num_problems = 0;
  for (int i = 0; i < manifest->num_inputs; i++)
    if (!safetensors_read_tensor(&file, manifest->inputs[i].name, &manifest->inputs[i],
                                 arena->inputs[i], problems, PROBLEMS_SIZE))
      num_problems++;
  safetensors_close(&file);
  if (num_problems)
    perft_fatal("inputs %s: %d input%s missing or mismatched: %s", path, num_problems,
                num_problems == 1 ? "" : "s", problems);
  free(problems);
}

/* The teacher is the same program with its expert banks (frozen 3-D parameters)
 * perturbed by this much relative Gaussian noise, and with nonzero trainable
 * parameters (a hidden adapter, N(0, 1/fan_in)). A perturbation of SwiGLU experts
 * alone has almost no component a linear adapter can represent (the change is
 * bilinear in h), so it only sets the loss floor; the hidden adapter is what
 * training can recover. */
#define TEACHER_BANK_NOISE 0.05

void teacher_initialise(const Manifest *manifest, Arena *arena, uint64_t seed) {
  Rng rng;
  rng_seed(&rng, seed, RNG_STREAM_TEACHER);
  for (int p = 0; p < manifest->num_params; p++) {
    const ParamSpec *param = &manifest->params[p];
    int64_t count = param->tensor.num_elements;
    float *teacher = arena->teacher_params[p]; /* (param dims) */
    if (param->trainable) { /* the hidden adapter the student has to find */
      int64_t fan_in = param->tensor.num_dims ? param->tensor.dims[param->tensor.num_dims - 1] : 1;
      double std = 1.0 / sqrt((double)fan_in);
      for (int64_t i = 0; i < count; i++) teacher[i] = (float)(std * rng_normal(&rng));
      continue;
    }
    memcpy(teacher, arena->params[p], (size_t)count * sizeof(float));
    if (param->tensor.num_dims != 3) continue; /* only expert banks are perturbed */
    double sum = 0.0, sum_squares = 0.0;
    for (int64_t i = 0; i < count; i++) {
      sum += teacher[i];
      sum_squares += (double)teacher[i] * teacher[i];
    }
    double mean = sum / count;
    double variance = sum_squares / count - mean * mean;
    double noise_std = TEACHER_BANK_NOISE * sqrt(variance > 0 ? variance : 0);
    for (int64_t i = 0; i < count; i++) teacher[i] += (float)(noise_std * rng_normal(&rng));
  }
}
