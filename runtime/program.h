/* program.h: the symbols the generated object file defines (docs/ABI.md), and the options and
 * start-up steps shared by the runtime's modes. */
#ifndef PERFT_RUNTIME_PROGRAM_H
#define PERFT_RUNTIME_PROGRAM_H

#include <stdint.h>

#include "arena.h"
#include "data.h"
#include "manifest.h"

extern const char perft_manifest[];
void perft_train_step(void **buffers); /* forward + backward: writes loss, outputs, grads */
void perft_forward(void **buffers);    /* forward only: writes loss and outputs */

#define MAX_WEIGHTS_FILES 8

typedef struct {
  /* training */
  int steps;
  double learning_rate;
  int warmup_steps;
  double weight_decay;
  double clip;
  uint64_t seed;
  const char *weights_paths[MAX_WEIGHTS_FILES]; /* --weights, repeatable; later files win */
  int num_weights;           /* 0: --init */
  int init_missing;          /* --init with --weights: params the files lack keep their init */
  const char *metrics_path;  /* NULL: none */
  const char *save_path;     /* NULL: none; the trainable tensors */
  const char *save_all_path; /* NULL: none; every parameter */
  int save_every;            /* 0: only at the end */
  const char *task;          /* --task affine:A:B | add:C; NULL: the default for the program */
  int eval_every;            /* 0: evaluate only at the end */
  int eval_batches;          /* held-out batches per evaluation */
  /* other modes */
  int list_params;
  const char *dump_path;
  const char *inputs_path;
  int eval_only;
} RunOptions;

/* Parameters, in params.c. */
/* Which params the weights files must hold: all (--dump), the frozen ones (training, evaluation), or
 * none (--init with --weights: what the files lack keeps its init, and a line on stdout names it). */
typedef enum { WEIGHTS_ALL_REQUIRED, WEIGHTS_FROZEN_REQUIRED, WEIGHTS_NONE_REQUIRED } WeightsPolicy;
/* Fills every param from its manifest init rule (seeded), then overwrites them from the weights
 * files in order (a later file wins); a required param must be in at least one file. Reports
 * every missing or mismatched tensor in one error. Tensors the program does not know are ignored. */
void params_initialise(const Manifest *manifest, Arena *arena, uint64_t seed,
                       const char *const *weights_paths, int num_weights, WeightsPolicy policy);
/* Reads every input from path (all required except the seed input, which is set to 0); i32
 * inputs must be I32 tensors with values inside their range. */
void inputs_load(const Manifest *manifest, Arena *arena, const char *path);
/* Teacher = copy of params; frozen 3-D params += N(0, (0.5 std(tensor))^2); trainable = 0. */
void teacher_initialise(const Manifest *manifest, Arena *arena, uint64_t seed);

/* The start-up every mode that runs the program shares: the data plan, the arena, the
 * parameters (frozen ones from the weights files) and the teacher. In params.c. */
void program_start(const Manifest *manifest, const RunOptions *options, ArenaPurpose purpose, DataPlan *plan,
                   Arena *arena);

/* Modes. */
int run_training(const Manifest *manifest, const RunOptions *options);
int run_dump(const Manifest *manifest, const RunOptions *options);
int run_eval_only(const Manifest *manifest, const RunOptions *options);

#endif
