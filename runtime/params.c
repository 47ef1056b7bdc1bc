/* params.c: parameter initialisation, weight and input loading, and the teacher's parameters. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base.h"
#include "bf16.h"
#include "check.h"
#include "program.h"
#include "rng.h"
#include "safetensors.h"

#define PROBLEMS_SIZE 16384

/* ---- normal(mean, std) initialisation on every core ----
 * The parameters that start normal take consecutive parts of one sequence of the init stream, in
 * manifest order (what one thread filling them in turn gives). Each part of at most INIT_PART values
 * can be made from its own place in that sequence (rng_skip_normals), so threads make runs of them
 * side by side with the same numbers. Measured here (a 1.0-billion-value bf16 OLMoE program, whole
 * start-up and one step): 19 s on one core, 10–13 s on two; one value costs ~18 ns on one core, so
 * a 16-layer OLMoE (6.9 billion) takes ~2 minutes on one and seconds on 16.
 * Fewer than INIT_THREADED values: one thread, no jump. */
enum { INIT_PART = 1 << 20, INIT_THREADED = 1 << 24, INIT_THREADS_MOST = 64 };
typedef struct {
  float *f32;     /* the values, or (bf16 parameters) */
  uint16_t *bf16; /* rounded to bf16 */
  uint64_t first; /* the first value's place in the sequence */
  int64_t count;
  double mean, std;
} InitPart;
typedef struct {
  InitPart *items;
  int64_t count, capacity;
  uint64_t next; /* the sequence's values taken so far */
} InitParts;
typedef struct {
  const Rng *start;
  const InitParts *parts;
  int64_t begin, end; /* its run of parts */
} InitWorker;

/* The normal values of a parameter with `count` elements: its parts. */
static void init_parts_add(InitParts *parts, float *f32, uint16_t *bf16, int64_t count, double mean, double std) {
  for (int64_t done = 0; done < count; done += INIT_PART) {
    if (parts->count == parts->capacity) {
      parts->capacity = parts->capacity ? 2 * parts->capacity : 256;
      parts->items = reallocCheck(parts->items, (size_t)parts->capacity * sizeof *parts->items);
    }
    int64_t n = count - done < INIT_PART ? count - done : INIT_PART;
    parts->items[parts->count++] = (InitPart){f32 ? f32 + done : NULL, bf16 ? bf16 + done : NULL,
                                              parts->next + (uint64_t)done, n, mean, std};
  }
  parts->next += (uint64_t)count;
}

/* a run of parts: consecutive in the sequence, so one jump to the first */
static void *init_worker(void *data) {
  const InitWorker *w = data;
  if (w->begin == w->end) return NULL;
  Rng rng = *w->start;
  rng_skip_normals(&rng, w->parts->items[w->begin].first);
  float *values = NULL; /* (INIT_PART) a bf16 part before rounding */
  for (int64_t i = w->begin; i < w->end; i++) {
    const InitPart *part = &w->parts->items[i];
    if (part->f32) {
      rng_fill_normal(&rng, part->f32, part->count, part->mean, part->std);
      continue;
    }
    if (!values) values = mallocCheck(INIT_PART * sizeof *values);
    rng_fill_normal(&rng, values, part->count, part->mean, part->std);
    for (int64_t e = 0; e < part->count; e++) part->bf16[e] = float_to_bf16(values[e]);
  }
  free(values);
  return NULL;
}

/* Every part, on up to one thread a core (a thread that cannot start: its parts on this one). */
static void init_parts_run(const Rng *start, const InitParts *parts) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int threads = cores < 1 ? 1 : cores > INIT_THREADS_MOST ? INIT_THREADS_MOST : (int)cores;
  if (parts->next < INIT_THREADED || threads > parts->count) threads = 1;
  InitWorker workers[INIT_THREADS_MOST];
  pthread_t ids[INIT_THREADS_MOST];
  int started[INIT_THREADS_MOST] = {0};
  for (int t = 0; t < threads; t++) {
    workers[t] = (InitWorker){start, parts, parts->count * t / threads, parts->count * (t + 1) / threads};
    started[t] = t > 0 && pthread_create(&ids[t], NULL, init_worker, &workers[t]) == 0;
  }
  for (int t = 0; t < threads; t++)
    if (!started[t]) init_worker(&workers[t]);
  for (int t = 1; t < threads; t++)
    if (started[t]) pthread_join(ids[t], NULL);
}

static void load_weights(const Manifest *manifest, Arena *arena, const char *const *weights_paths, int num_weights,
                         WeightsPolicy policy, char *loaded);

void params_initialise(const Manifest *manifest, Arena *arena, uint64_t seed, const char *base_dir,
                       const char *const *weights_paths, int num_weights, WeightsPolicy policy) {
  Rng rng;
  rng_seed(&rng, seed, RNG_STREAM_INIT);
  InitParts normal_parts = {0};
  char *loaded = callocCheck((size_t)manifest->num_params + 1, 1);
  if (base_dir) base_load(manifest, arena, base_dir, loaded); /* first: what it gives needs no init */
  for (int p = 0; p < manifest->num_params; p++) {
    const ParamSpec *param = &manifest->params[p];
    if (loaded[p]) continue;
    int bf16 = param->tensor.element_type == ELEMENT_BF16; /* initialised in f32, then rounded */
    int64_t count = param->tensor.num_elements;
    if (param->init == INIT_NORMAL) { /* below, on every core */
      init_parts_add(&normal_parts, bf16 ? NULL : arena->params[p], bf16 ? (uint16_t *)arena->params[p] : NULL, count,
                     param->init_mean, param->init_std);
      continue;
    }
    float *data = bf16 ? callocCheck((size_t)count, sizeof(float)) : arena->params[p]; /* (param dims) */
    switch (param->init) {
      case INIT_NORMAL: break; /* made above, in parts */
      case INIT_ZEROS: memset(data, 0, (size_t)count * sizeof(float)); break;
      case INIT_ONES: for (int64_t i = 0; i < count; i++) data[i] = 1.0f; break;
      case INIT_CONST: for (int64_t i = 0; i < count; i++) data[i] = (float)param->init_mean; break;
      case INIT_COPY: break; /* after the weights: its source may come from them */
      case INIT_EYE: { /* ones where the last two indices are equal */
        int rank = param->tensor.num_dims;
        int64_t rows = rank >= 2 ? param->tensor.dims[rank - 2] : 1, cols = param->tensor.dims[rank - 1];
        memset(data, 0, (size_t)count * sizeof(float));
        for (int64_t i = 0; i < count; i++)
          if ((i / cols) % rows == i % cols) data[i] = 1.0f;
        break;
      }
    }
    if (bf16) {
      uint16_t *out = (uint16_t *)arena->params[p];
      for (int64_t i = 0; i < count; i++) out[i] = float_to_bf16(data[i]);
      free(data);
    }
  }
  init_parts_run(&rng, &normal_parts);
  free(normal_parts.items);
  if (num_weights > 0) load_weights(manifest, arena, weights_paths, num_weights, policy, loaded);
  for (int p = 0; p < manifest->num_params; p++) { /* copy rows of a source, unless the weights gave it */
    const ParamSpec *param = &manifest->params[p];
    if (param->init != INIT_COPY || loaded[p]) continue;
    const ParamSpec *source = &manifest->params[param->copy_source];
    int rank = param->tensor.num_dims;
    for (int64_t i = 0; i < param->tensor.num_elements; i++) { /* element i's coordinates, shifted */
      int64_t rest = i, from = 0, stride = 1;
      for (int d = rank - 1; d >= 0; d--) {
        from += (rest % param->tensor.dims[d] + param->copy_starts[d]) * stride;
        rest /= param->tensor.dims[d];
        stride *= source->tensor.dims[d];
      }
      float value = source->tensor.element_type == ELEMENT_BF16
                        ? bf16_to_float(((const uint16_t *)arena->params[param->copy_source])[from])
                        : arena->params[param->copy_source][from];
      if (param->tensor.element_type == ELEMENT_BF16) ((uint16_t *)arena->params[p])[i] = float_to_bf16(value);
      else arena->params[p][i] = value;
    }
  }
  free(loaded);
}

/* Overwrites params from the weights files (a later file wins); loaded[p] = 1 for each one found. */
static void load_weights(const Manifest *manifest, Arena *arena, const char *const *weights_paths, int num_weights,
                         WeightsPolicy policy, char *loaded) {
  char error[1024];
  SafetensorsFile *files = callocCheck((size_t)num_weights, sizeof *files);
  for (int f = 0; f < num_weights; f++)
    if (!safetensors_open(weights_paths[f], &files[f], error, sizeof error)) perft_fatal("%s", error);
  char *problems = callocCheck(PROBLEMS_SIZE, 1);
  int num_problems = 0, num_initialised = 0;
  for (int p = 0; p < manifest->num_params; p++) {
    const ParamSpec *param = &manifest->params[p];
    if (param->constant) continue; /* the program's own: its rule, whatever the files hold */
    int required = !loaded[p] && /* not from --base */
                   (policy == WEIGHTS_ALL_REQUIRED || (policy == WEIGHTS_FROZEN_REQUIRED && !param->trainable));
    int last = -1; /* the last file that has it wins */
    for (int f = 0; f < num_weights; f++)
      if (safetensors_find(&files[f], param->tensor.name)) last = f;
    if (last < 0 && !required) { /* keeps its init, or what --base gave it */
      if (policy == WEIGHTS_NONE_REQUIRED && !loaded[p])
        printf("%s%s", num_initialised++ ? ", " : "--init: not in the weights, initialised by their rule: ",
               param->tensor.name);
      continue;
    }
    if (!safetensors_read_tensor(&files[last < 0 ? 0 : last], param->tensor.name, &param->tensor,
                                 arena->params[p], problems, PROBLEMS_SIZE))
      num_problems++;
    else loaded[p] = 1;
  }
  if (num_initialised) printf("\n");
  for (int f = 0; f < num_weights; f++) safetensors_close(&files[f]);
  free(files);
  if (num_problems) {
    char names[1024] = "";
    for (int f = 0; f < num_weights; f++)
      snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", f ? " + " : "",
               weights_paths[f]);
    perft_fatal("weights %s: %d parameter%s missing or mismatched: %s", names,
                num_problems, num_problems == 1 ? "" : "s", problems);
  }
  free(problems);
}

/* inputs_load without exiting: copies every input from an opened file into the arena. Returns 0
 * with "inputs PATH: N inputs missing or mismatched: ..." (every problem, one line) in error. */
int inputs_read(const Manifest *manifest, Arena *arena, const SafetensorsFile *file, char *error,
                size_t error_size) {
  char *problems = callocCheck(PROBLEMS_SIZE, 1);
  int num_problems = 0;
  for (int i = 0; i < manifest->num_inputs; i++) {
    const TensorSpec *input = &manifest->inputs[i];
    if (i == manifest->seed_input) {
      *(int32_t *)arena->inputs[i] = 0; /* --dump runs without dropout: seed 0 */
      continue;
    }
    if (!safetensors_read_tensor(file, input->name, input, arena->inputs[i], problems,
                                 PROBLEMS_SIZE)) {
      num_problems++;
      continue;
    }
    if (input->element_type != ELEMENT_I32 || !input->range) continue;
    const int32_t *values = arena->inputs[i]; /* (input dims) */
    for (int64_t e = 0; e < input->num_elements; e++) {
      int ignored = i == manifest->classify_input && values[e] == -100; /* a label outside the loss */
      if (!ignored && (values[e] < 0 || values[e] >= input->range)) {
        size_t used = strlen(problems);
        snprintf(problems + used, PROBLEMS_SIZE - used,
                 "%s'%s' holds %ld at element %lld, outside its range [0, %lld)",
                 used ? "; " : "", input->name, (long)values[e], (long long)e,
                 (long long)input->range);
        num_problems++;
        break;
      }
    }
  }
  if (num_problems)
    snprintf(error, error_size, "inputs %s: %d input%s missing or mismatched: %s", file->path,
             num_problems, num_problems == 1 ? "" : "s", problems);
  free(problems);
  return num_problems == 0;
}

void inputs_load(const Manifest *manifest, Arena *arena, const char *path) {
  char error[PROBLEMS_SIZE + 1024];
  SafetensorsFile file;
  if (!safetensors_open(path, &file, error, sizeof error)) perft_fatal("%s", error);
  int ok = inputs_read(manifest, arena, &file, error, sizeof error);
  safetensors_close(&file);
  if (!ok) perft_fatal("%s", error);
}

/* The teacher is the same program with its expert banks (frozen 3-D parameters)
 * perturbed by this much relative Gaussian noise, and with nonzero trainable
 * parameters (a hidden adapter, N(0, 1/fan_in)). A perturbation of SwiGLU experts
 * alone has almost no component a linear adapter can represent (the change is
 * bilinear in h), so it only sets the loss floor; the hidden adapter is what
 * training can recover. */
#define TEACHER_BANK_NOISE 0.05

void teacher_initialise(const Manifest *manifest, Arena *arena, uint64_t seed) {
  for (int p = 0; p < manifest->num_params; p++)
    if (manifest->params[p].tensor.element_type == ELEMENT_BF16)
      perft_fatal("a program with a teacher keeps its frozen weights in f32 (compile it without --frozen-dtype=bf16)");
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

void program_start(const Manifest *manifest, const RunOptions *options, ArenaPurpose purpose, DataPlan *plan,
                   Arena *arena) {
  data_plan_create(manifest, options->task, options->data_path, plan);
  arena_create(arena, manifest, purpose);
  params_initialise(manifest, arena, options->seed, options->base_dir, options->weights_paths, options->num_weights,
                    options->init_missing ? WEIGHTS_NONE_REQUIRED : WEIGHTS_FROZEN_REQUIRED);
  if (manifest->has_teacher) teacher_initialise(manifest, arena, options->seed);
  arena_all_to_device(arena);
}
