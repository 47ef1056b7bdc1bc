/* arena.c: one 64-byte aligned allocation holding every tensor, its two sides and the copies
 * between them; see arena.h for the layout. */
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

/* Where a range of blocks starts, and (range_end) its length once they are carved. */
static ArenaRange range_begin(const Carver *carver) {
  return (ArenaRange){(carver->offset + ARENA_ALIGNMENT - 1) & ~(size_t)(ARENA_ALIGNMENT - 1), 0};
}
static ArenaRange range_end(ArenaRange range, const Carver *carver) {
  range.bytes = carver->offset > range.offset ? carver->offset - range.offset : 0;
  return range;
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
  arena->inputs_range = range_begin(carver);
  for (int i = 0; i < I; i++) {
    void *block = carve_floats(carver, manifest->inputs[i].num_elements); /* 4-byte elements */
    if (assign) arena->inputs[i] = block;
  }
  arena->inputs_range = range_end(arena->inputs_range, carver);
  arena->results_range = range_begin(carver);
  arena->loss = carve_floats(carver, 1);
  for (int o = 0; o < O; o++) {
    float *block = carve_floats(carver, manifest->outputs[o].num_elements);
    if (assign) arena->outputs[o] = block;
  }
  arena->results_range = range_end(arena->results_range, carver);
  arena->grads_range = range_begin(carver);
  for (int g = 0; g < G; g++) {
    float *block = carve_floats(carver, manifest->grads[g].num_elements);
    if (assign) {
      arena->grads[g] = block;
      arena->grad_elements[g] = manifest->grads[g].num_elements;
    }
  }
  arena->grads_range = range_end(arena->grads_range, carver);
  arena->moments_range = range_begin(carver);
  for (int g = 0; training && g < G; g++) {
    float *m = carve_floats(carver, manifest->grads[g].num_elements);
    float *v = carve_floats(carver, manifest->grads[g].num_elements);
    if (assign) {
      arena->adam_m[g] = m;
      arena->adam_v[g] = v;
    }
  }
  arena->moments_range = range_end(arena->moments_range, carver);
  if (with_teacher) {
    for (int p = 0; p < P; p++) {
      float *block = carve_floats(carver, manifest->params[p].tensor.num_elements);
      if (assign) arena->teacher_params[p] = block;
    }
    arena->teacher_results_range = range_begin(carver);
    arena->teacher_loss = carve_floats(carver, 1);
    for (int o = 0; o < O; o++) {
      float *block = carve_floats(carver, manifest->outputs[o].num_elements);
      if (assign) arena->teacher_outputs[o] = block;
    }
    arena->teacher_results_range = range_end(arena->teacher_results_range, carver);
  }
  carve(carver, 0);
}

/* The workspace: after everything the host side mirrors (device side only). */
static void *lay_out_workspace(const Manifest *manifest, Carver *carver) {
  return carve(carver, (size_t)manifest->workspace_bytes);
}

/* The device-side address of a host-side one (the workspace, device side only, is given as such). */
static void *device_of(const Arena *arena, const void *host) {
  if (host == arena->workspace) return (void *)host;
  assertCheck((const char *)host >= arena->memory.host && (const char *)host <= arena->memory.host + arena->memory.host_bytes);
  return arena->memory.device + ((const char *)host - arena->memory.host);
}

/* Fills a buffers array in ABI order (docs/ABI.md), with the device side's addresses. */
static void fill_buffers(const Arena *arena, void **buffers, float **params, void **inputs, float *loss,
                         float **outputs, float **grads) {
  const Manifest *manifest = arena->manifest;
  int k = 0;
  for (int p = 0; p < manifest->num_params; p++) buffers[k++] = device_of(arena, params[p]);
  for (int i = 0; i < manifest->num_inputs; i++) buffers[k++] = device_of(arena, inputs[i]);
  buffers[k++] = device_of(arena, loss);
  for (int o = 0; o < manifest->num_outputs; o++) buffers[k++] = device_of(arena, outputs[o]);
  for (int g = 0; g < manifest->num_grads; g++) buffers[k++] = device_of(arena, grads[g]);
  buffers[k++] = arena->workspace;
}

void arena_create(Arena *arena, const Manifest *manifest, ArenaPurpose purpose) {
  memset(arena, 0, sizeof *arena);
  Carver measure = {NULL, 0};
  lay_out(arena, manifest, purpose, &measure);
  size_t host_bytes = measure.offset;
  lay_out_workspace(manifest, &measure);
  size_t bytes = (measure.offset + ARENA_ALIGNMENT - 1) & ~(size_t)(ARENA_ALIGNMENT - 1);
  LaunchMemory memory;
  if (!launch_memory_allocate(&memory, bytes, host_bytes, ARENA_ALIGNMENT))
    perft_fatal("cannot allocate the %zu-byte arena (hint: a smaller program, or more memory)", bytes);
  memset(arena, 0, sizeof *arena);
  Carver assign = {memory.host, 0};
  lay_out(arena, manifest, purpose, &assign);
  arena->memory = memory;
  arena->manifest = manifest;
  Carver device = {memory.device, host_bytes};
  arena->workspace = lay_out_workspace(manifest, &device);
  fill_buffers(arena, arena->buffers, arena->params, arena->inputs, arena->loss, arena->outputs, arena->grads);
  /* The teacher reads the student's inputs and writes its own loss and outputs; perft_forward
   * leaves gradients untouched, so the student's gradient buffers are passed. */
  if (arena->teacher_buffers)
    fill_buffers(arena, arena->teacher_buffers, arena->teacher_params, arena->inputs, arena->teacher_loss,
                 arena->teacher_outputs, arena->grads);
  if (arena->optimizer_buffers) {
    int G = manifest->num_grads;
    for (int g = 0; g < G; g++) {
      void **four = &arena->optimizer_buffers[4 * g];
      four[0] = device_of(arena, arena->params[manifest->grad_param_index[g]]);
      four[1] = device_of(arena, arena->grads[g]);
      four[2] = device_of(arena, arena->adam_m[g]);
      four[3] = device_of(arena, arena->adam_v[g]);
      arena->norm_buffers[g] = device_of(arena, arena->grads[g]);
      arena->norm_buffers[G + g] =
          device_of(arena, arena->norm_partials + (size_t)g * (size_t)manifest->optimizer_lanes);
    }
    arena->norm_buffers[2 * G] = device_of(arena, arena->norm_scratch);
    arena->optimizer_buffers[4 * G] = device_of(arena, arena->adamw_constants);
  }
}

void arena_destroy(Arena *arena) {
  launch_memory_free(&arena->memory);
  memset(arena, 0, sizeof *arena);
}

static size_t offset_of(const Arena *arena, const void *host, size_t bytes) {
  size_t offset = (size_t)((const char *)host - arena->memory.host);
  assertCheck((const char *)host >= arena->memory.host && offset + bytes <= arena->memory.host_bytes);
  return offset;
}

void arena_to_device(const Arena *arena, const void *host, size_t bytes) {
  launch_memory_to_device(&arena->memory, offset_of(arena, host, bytes), bytes);
}

void arena_to_host(const Arena *arena, void *host, size_t bytes) {
  launch_memory_to_host(&arena->memory, offset_of(arena, host, bytes), bytes);
}

void arena_all_to_device(const Arena *arena) { launch_memory_to_device(&arena->memory, 0, arena->memory.host_bytes); }

void arena_all_to_host(const Arena *arena) { launch_memory_to_host(&arena->memory, 0, arena->memory.host_bytes); }

/* each trainable parameter (grad order), and the moments when training */
static void copy_trained(const Arena *arena, void (*copy)(const LaunchMemory *, size_t, size_t)) {
  const Manifest *manifest = arena->manifest;
  for (int g = 0; g < manifest->num_grads; g++) {
    const float *param = arena->params[manifest->grad_param_index[g]];
    size_t bytes = (size_t)manifest->grads[g].num_elements * sizeof(float);
    copy(&arena->memory, offset_of(arena, param, bytes), bytes);
  }
  copy(&arena->memory, arena->moments_range.offset, arena->moments_range.bytes); /* none unless training */
}

void arena_trained_to_host(const Arena *arena) { copy_trained(arena, launch_memory_to_host); }

void arena_trained_to_device(const Arena *arena) { copy_trained(arena, launch_memory_to_device); }

static void range_to_host(const Arena *arena, ArenaRange range) {
  launch_memory_to_host(&arena->memory, range.offset, range.bytes);
}

void arena_results_to_host(const Arena *arena) { range_to_host(arena, arena->results_range); }

void arena_grads_to_host(const Arena *arena) { range_to_host(arena, arena->grads_range); }

static void inputs_to_device(const Arena *arena) {
  launch_memory_to_device(&arena->memory, arena->inputs_range.offset, arena->inputs_range.bytes);
}

/* the loss alone: a step's outputs can be large (a language model's logits) and are copied only when read */
static void loss_to_host(const Arena *arena, const float *loss) { arena_to_host(arena, (void *)loss, sizeof *loss); }

void arena_train_step(const Arena *arena) {
  inputs_to_device(arena);
  launch_train_step(arena->buffers);
  loss_to_host(arena, arena->loss);
}

void arena_forward(const Arena *arena) {
  inputs_to_device(arena);
  launch_forward(arena->buffers);
  loss_to_host(arena, arena->loss);
}

void arena_teacher_forward(const Arena *arena) {
  inputs_to_device(arena);
  launch_forward(arena->teacher_buffers);
  range_to_host(arena, arena->teacher_results_range);
}
