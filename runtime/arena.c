/* arena.c: one 64-byte aligned allocation holding every tensor; see arena.h for the layout. */
#include "arena.h"
#include "launch.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "optimizer.h"

#define ARENA_ALIGNMENT 64

typedef struct {
  char *base;     /* NULL while measuring */
  size_t offset;
} Carver;

static void *carve(Carver *carver, size_t bytes) {
  carver->offset = (carver->offset + ARENA_ALIGNMENT - 1) & ~(size_t)(ARENA_ALIGNMENT - 1);
  void *block = carver->base ? carver->base + carver->offset : NULL;
  if (bytes > SIZE_MAX - carver->offset - ARENA_ALIGNMENT)
    perft_fatal("the program needs more memory than can be addressed");
  carver->offset += bytes ? bytes : 1;
  return block;
}

static float *carve_floats(Carver *carver, int64_t count) {
  return carve(carver, (size_t)count * sizeof(float));
}

/* Runs once to measure (carver->base NULL) and once to assign. */
static void lay_out(Arena *arena, const Manifest *manifest, ArenaPurpose purpose, Carver *carver) {
  int P = manifest->num_params, I = manifest->num_inputs, O = manifest->num_outputs,
      G = manifest->num_grads;
  int training = purpose == ARENA_TRAINING;
  int with_teacher = purpose != ARENA_FORWARD_BACKWARD && manifest->has_teacher;
  arena->num_buffers = P + I + 1 + O + G + 1;
  arena->buffers = carve(carver, (size_t)arena->num_buffers * sizeof(void *));
  arena->teacher_buffers = with_teacher ? carve(carver, (size_t)arena->num_buffers * sizeof(void *))
                                        : NULL;
  arena->params = carve(carver, (size_t)P * sizeof(float *));
  arena->inputs = carve(carver, (size_t)I * sizeof(void *));
  arena->outputs = carve(carver, (size_t)O * sizeof(float *));
  arena->grads = carve(carver, (size_t)G * sizeof(float *));
  arena->grad_elements = carve(carver, (size_t)G * sizeof(int64_t));
  arena->adam_m = training ? carve(carver, (size_t)G * sizeof(float *)) : NULL;
  arena->adam_v = training ? carve(carver, (size_t)G * sizeof(float *)) : NULL;
  int device_optimizer = training && manifest->optimizer_lanes > 0;
  arena->optimizer_buffers = device_optimizer ? carve(carver, (size_t)(4 * G + 1) * sizeof(void *)) : NULL;
  arena->norm_buffers = device_optimizer ? carve(carver, (size_t)(2 * G + 1) * sizeof(void *)) : NULL;
  arena->adamw_constants = device_optimizer ? carve_floats(carver, ADAMW_CONSTANTS) : NULL;
  arena->norm_partials =
      device_optimizer ? carve(carver, (size_t)G * (size_t)manifest->optimizer_lanes * sizeof(double)) : NULL;
  arena->norm_scratch = device_optimizer ? carve(carver, (size_t)manifest->optimizer_scratch * sizeof(double)) : NULL;
  arena->teacher_params = with_teacher ? carve(carver, (size_t)P * sizeof(float *)) : NULL;
  arena->teacher_outputs = with_teacher ? carve(carver, (size_t)O * sizeof(float *)) : NULL;

  int assign = carver->base != NULL;
  for (int p = 0; p < P; p++) {
    const TensorSpec *t = &manifest->params[p].tensor; /* bf16: 2-byte elements */
    float *block = carve_floats(carver, t->element_type == ELEMENT_BF16 ? (t->num_elements + 1) / 2 : t->num_elements);
    if (assign) arena->params[p] = block;
  }
  for (int i = 0; i < I; i++) {
    void *block = carve_floats(carver, manifest->inputs[i].num_elements); /* 4-byte elements */
    if (assign) arena->inputs[i] = block;
  }
  arena->loss = carve_floats(carver, 1);
  for (int o = 0; o < O; o++) {
    float *block = carve_floats(carver, manifest->outputs[o].num_elements);
    if (assign) arena->outputs[o] = block;
  }
  for (int g = 0; g < G; g++) {
    float *block = carve_floats(carver, manifest->grads[g].num_elements);
    if (assign) {
      arena->grads[g] = block;
      arena->grad_elements[g] = manifest->grads[g].num_elements;
    }
  }
  arena->workspace = carve(carver, (size_t)manifest->workspace_bytes);
  for (int g = 0; training && g < G; g++) {
    float *m = carve_floats(carver, manifest->grads[g].num_elements);
    float *v = carve_floats(carver, manifest->grads[g].num_elements);
    if (assign) {
      arena->adam_m[g] = m;
      arena->adam_v[g] = v;
    }
  }
  if (with_teacher) {
    for (int p = 0; p < P; p++) {
      float *block = carve_floats(carver, manifest->params[p].tensor.num_elements);
      if (assign) arena->teacher_params[p] = block;
    }
    arena->teacher_loss = carve_floats(carver, 1);
    for (int o = 0; o < O; o++) {
      float *block = carve_floats(carver, manifest->outputs[o].num_elements);
      if (assign) arena->teacher_outputs[o] = block;
    }
  }
  carve(carver, 0);
}

/* Fills a buffers array in ABI order (docs/ABI.md). */
static void fill_buffers(void **buffers, const Manifest *manifest, float **params, void **inputs,
                         float *loss, float **outputs, float **grads, void *workspace) {
  int k = 0;
  for (int p = 0; p < manifest->num_params; p++) buffers[k++] = params[p];
  for (int i = 0; i < manifest->num_inputs; i++) buffers[k++] = inputs[i];
  buffers[k++] = loss;
  for (int o = 0; o < manifest->num_outputs; o++) buffers[k++] = outputs[o];
  for (int g = 0; g < manifest->num_grads; g++) buffers[k++] = grads[g];
  buffers[k++] = workspace;
}

void arena_create(Arena *arena, const Manifest *manifest, ArenaPurpose purpose) {
  memset(arena, 0, sizeof *arena);
  Carver measure = {NULL, 0};
  lay_out(arena, manifest, purpose, &measure);
  size_t bytes = (measure.offset + ARENA_ALIGNMENT - 1) & ~(size_t)(ARENA_ALIGNMENT - 1);
  void *base = launch_memory_allocate(bytes, ARENA_ALIGNMENT);
  if (!base)
    perft_fatal("cannot allocate the %zu-byte arena (hint: a smaller program, or more RAM)", bytes);
  memset(arena, 0, sizeof *arena);
  Carver assign = {base, 0};
  lay_out(arena, manifest, purpose, &assign);
  arena->base = base;
  arena->bytes = bytes;
  fill_buffers(arena->buffers, manifest, arena->params, arena->inputs, arena->loss,
               arena->outputs, arena->grads, arena->workspace);
  /* The teacher reads the student's inputs and writes its own loss and outputs; perft_forward
   * leaves gradients untouched, so the student's gradient buffers are passed. */
  if (arena->teacher_buffers)
    fill_buffers(arena->teacher_buffers, manifest, arena->teacher_params, arena->inputs,
                 arena->teacher_loss, arena->teacher_outputs, arena->grads, arena->workspace);
  if (arena->optimizer_buffers) {
    int G = manifest->num_grads;
    for (int g = 0; g < G; g++) {
      void **four = &arena->optimizer_buffers[4 * g];
      four[0] = arena->params[manifest->grad_param_index[g]];
      four[1] = arena->grads[g];
      four[2] = arena->adam_m[g];
      four[3] = arena->adam_v[g];
      arena->norm_buffers[g] = arena->grads[g];
      arena->norm_buffers[G + g] = arena->norm_partials + (size_t)g * (size_t)manifest->optimizer_lanes;
    }
    arena->norm_buffers[2 * G] = arena->norm_scratch;
    arena->optimizer_buffers[4 * G] = arena->adamw_constants;
  }
}

void arena_destroy(Arena *arena) {
  launch_memory_free(arena->base);
  memset(arena, 0, sizeof *arena);
}
