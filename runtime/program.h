/* program.h: the symbols the generated object file defines (docs/ABI.md), and the options and
 * start-up steps shared by the runtime's modes. */
#ifndef PERFT_RUNTIME_PROGRAM_H
#define PERFT_RUNTIME_PROGRAM_H

#include <stdint.h>

#include "arena.h"
#include "manifest.h"

extern const char perft_manifest[];
void perft_train_step(void **buffers); /* forward + backward: writes loss, outputs, grads */
void perft_forward(void **buffers);    /* forward only: writes loss and outputs */

typedef struct {
  /* training */
  int steps;
  double learning_rate;
  int warmup_steps;
  double weight_decay;
  double clip;
  uint64_t seed;
  const char *weights_path;  /* NULL: --init */
  const char *metrics_path;  /* NULL: none */
  const char *save_path;     /* NULL: none */
  int save_every;            /* 0: only at the end */
  /* other modes */
  int list_params;
  const char *dump_path;
  const char *inputs_path;
} RunOptions;

/* Parameters, in params.c. */
typedef enum { WEIGHTS_ALL_REQUIRED, WEIGHTS_FROZEN_REQUIRED } WeightsPolicy;
/* Fills every param from its manifest init rule (seeded), then, with a weights file, overwrites
 * them from it; reports every missing or mismatched tensor in one error. */
void params_initialise(const Manifest *manifest, Arena *arena, uint64_t seed,
                       const char *weights_path, WeightsPolicy policy);
/* Reads every input from path (all required). */
void inputs_load(const Manifest *manifest, Arena *arena, const char *path);
/* Teacher = copy of params; frozen 3-D params += N(0, (0.5 std(tensor))^2); trainable = 0. */
void teacher_initialise(const Manifest *manifest, Arena *arena, uint64_t seed);

/* Modes. */
int run_training(const Manifest *manifest, const RunOptions *options);
int run_dump(const Manifest *manifest, const RunOptions *options);

#endif
