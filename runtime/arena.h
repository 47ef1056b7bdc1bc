/* arena.h: every tensor the executable needs, in ONE allocation made at start-up.
 *
 * Layout (each block 64-byte aligned; P params, I inputs, O outputs, G grads):
 *   buffers          void*[P+I+1+O+G+1]   the ABI array handed to perft_train_step/perft_forward
 *   teacher_buffers  void*[P+I+1+O+G+1]   the same for the teacher's perft_forward (teacher only)
 *   params[p]        float[numel(p)]      every parameter, manifest order
 *   inputs[i]        float[numel(i)] or int32_t[numel(i)] for an i32 input (both 4 bytes)
 *   loss             float[1]
 *   outputs[o]       float[numel(o)]
 *   grads[g]         float[numel(g)]
 *   workspace        bytes[workspace]     shared by the student and the teacher (calls are sequential)
 *   adam_m[g], adam_v[g]  float[numel(g)] (training only)
 *   optimizer_buffers, norm_buffers, adamw_constants, norm_partials, norm_scratch  (training with
 *                    the device optimizer, manifest `optimizer device LANES SCRATCH`: the argument
 *                    arrays of perft_adamw [param, grad, m, v per grad, then the constants] and
 *                    perft_grad_norm [grads, then partials, then the scratch], float[ADAMW_CONSTANTS],
 *                    double[G · LANES], double[SCRATCH])
 *   teacher_params[p], teacher_loss, teacher_outputs[o]  (training or evaluation, with a teacher)
 * The whole block is zeroed once, so every page is touched before the first step.
 */
#ifndef PERFT_RUNTIME_ARENA_H
#define PERFT_RUNTIME_ARENA_H

#include <stddef.h>

#include "manifest.h"

typedef struct {
  void *base;
  size_t bytes;
  int num_buffers;          /* P + I + 1 + O + G + 1 */
  void **buffers;           /* (num_buffers) */
  float **params;           /* (P) pointers into the arena */
  void **inputs;            /* (I) float* or int32_t* (element_type of the input) */
  float *loss;              /* (1) */
  float **outputs;          /* (O) */
  float **grads;            /* (G) */
  void *workspace;          /* (workspace bytes) */
  float **adam_m;           /* (G) first moments, NULL unless training */
  float **adam_v;           /* (G) second moments */
  void **teacher_buffers;   /* (num_buffers) NULL unless training/evaluating with a teacher */
  float **teacher_params;   /* (P) */
  float *teacher_loss;      /* (1) */
  float **teacher_outputs;  /* (O) */
  int64_t *grad_elements;   /* (G) element count of each grad, for the optimizer */
  void **optimizer_buffers; /* (4G + 1) perft_adamw's, NULL unless the device optimizer trains */
  void **norm_buffers;      /* (2G + 1) perft_grad_norm's: gradients, partial sums, scratch */
  float *adamw_constants;   /* (ADAMW_CONSTANTS) one step's AdamwConstants, as the kernels read them */
  double *norm_partials;    /* (G · LANES) each gradient's partial sums of squares */
  double *norm_scratch;     /* (SCRATCH) where perft_grad_norm keeps a large gradient's chunk sums */
} Arena;

/* FORWARD_BACKWARD: --dump; EVALUATION: --eval-only (teacher, no optimizer); TRAINING: all. */
typedef enum { ARENA_FORWARD_BACKWARD, ARENA_TRAINING, ARENA_EVALUATION } ArenaPurpose;

/* Lays out and allocates the arena; exits with a clear message when memory is short. */
void arena_create(Arena *arena, const Manifest *manifest, ArenaPurpose purpose);
void arena_destroy(Arena *arena);

#endif
