/* arena.h: every tensor the executable needs, in ONE allocation made at start-up.
 *
 * Two sides (launch.h): the device side, which the generated code reads and writes (the buffers
 * arrays hold its addresses), and the host side, which the runtime's C code reads and writes (every
 * pointer below but the buffers arrays' entries and `workspace` is a host-side address). On the CPU
 * target they are one memory. The host side mirrors everything but the workspace, which is laid out
 * last so that the host side is the device side's first host_bytes. They meet only through the
 * copies below, made where the runtime needs them (nothing on the CPU target):
 *   start-up            arena_all_to_device, once the weights, inputs and state are loaded
 *   each step           arena_train_step: the inputs up, the step, the loss down (arena_forward,
 *                       arena_teacher_forward the same for the forward)
 *   on demand           the outputs, the gradients (arena_to_host), the trained tensors before a
 *                       save (arena_trained_to_host) and after the host changed them
 *                       (arena_trained_to_device)
 *
 * Layout (each block 64-byte aligned; P params, I inputs, O outputs, G grads):
 *   buffers          void*[P+I+1+O+G+1]   the ABI array handed to perft_train_step/perft_forward
 *   teacher_buffers  void*[P+I+1+O+G+1]   the same for the teacher's perft_forward (teacher only)
 *   params[p]        float[numel(p)]      every parameter, manifest order
 *   inputs[i]        float[numel(i)] or int32_t[numel(i)] for an i32 input (both 4 bytes)
 *   loss             float[1]
 *   outputs[o]       float[numel(o)]
 *   grads[g]         float[numel(g)]
 *   adam_m[g], adam_v[g]  float[numel(g)] (training only)
 *   optimizer_buffers, norm_buffers, adamw_constants, norm_partials, norm_scratch  (training with
 *                    the device optimizer, manifest `optimizer device LANES SCRATCH`: the argument
 *                    arrays of perft_adamw [param, grad, m, v per grad, then the constants] and
 *                    perft_grad_norm [grads, then partials, then the scratch], float[ADAMW_CONSTANTS],
 *                    double[G · LANES], double[SCRATCH])
 *   teacher_params[p], teacher_loss, teacher_outputs[o]  (training or evaluation, with a teacher)
 *   workspace        bytes[workspace]     device side only; shared by the student and the teacher
 *                                         (calls are sequential)
 * Both sides are zeroed once, so every page is touched before the first step.
 */
#ifndef PERFT_RUNTIME_ARENA_H
#define PERFT_RUNTIME_ARENA_H

#include <stddef.h>

#include "launch.h"
#include "manifest.h"

typedef struct {
  size_t offset, bytes;
} ArenaRange;

typedef struct {
  LaunchMemory memory;      /* the two sides, and their sizes */
  const Manifest *manifest;
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
  /* the blocks the runtime copies as one: every input; the loss and the outputs; every gradient;
   * the AdamW moments; the teacher's loss and outputs */
  ArenaRange inputs_range, results_range, grads_range, moments_range, teacher_results_range;
} Arena;

/* FORWARD_BACKWARD: --dump; EVALUATION: --eval-only (teacher, no optimizer); TRAINING: all. */
typedef enum { ARENA_FORWARD_BACKWARD, ARENA_TRAINING, ARENA_EVALUATION } ArenaPurpose;

/* Lays out and allocates the arena; exits with a clear message when memory is short. */
void arena_create(Arena *arena, const Manifest *manifest, ArenaPurpose purpose);
void arena_destroy(Arena *arena);

/* Copies `bytes` at a host-side address to the device side, or back (after the work issued). */
void arena_to_device(const Arena *arena, const void *host, size_t bytes);
void arena_to_host(const Arena *arena, void *host, size_t bytes);
/* The whole host side to the device: after start-up has loaded the weights and the state. */
void arena_all_to_device(const Arena *arena);
/* Every tensor the host side mirrors, back from the device (the search for a non-finite one). */
void arena_all_to_host(const Arena *arena);
/* The trainable parameters and the AdamW moments, back before a save; up after the host changed them
 * (a restored checkpoint, the host's optimizer). */
void arena_trained_to_host(const Arena *arena);
void arena_trained_to_device(const Arena *arena);
/* The loss and every output; every gradient: back from the device (--dump, the host's optimizer). */
void arena_results_to_host(const Arena *arena);
void arena_grads_to_host(const Arena *arena);

/* The generated code's runs: this step's inputs up, the run, then its loss (not its outputs or
 * gradients: arena_to_host those) down. */
void arena_train_step(const Arena *arena);
void arena_forward(const Arena *arena);
/* The teacher's forward over the student's inputs: its loss and outputs come back. */
void arena_teacher_forward(const Arena *arena);

#endif
