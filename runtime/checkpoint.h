/* checkpoint.h: checkpoints for exact resume (--checkpoint-dir, --checkpoint-every, --keep,
 * --resume).
 *
 * One checkpoint is one safetensors file, DIR/step-000000120.safetensors, written atomically
 * (temp file, fsync, rename, fsync of DIR) and holding everything the rest of the run depends on:
 *   tensors    every trainable parameter NAME, and its AdamW moments adam_m.NAME, adam_v.NAME
 *   metadata   perft.kind "checkpoint", perft.program, perft.strategy, perft.base (identity.h);
 *              perft.step (steps done = the schedule position), perft.rng (the data stream's
 *              state = the data position), perft.first_loss, perft.last_loss, perft.best_eval(_step),
 *              perft.seconds, perft.metrics_bytes; and the run's options as perft.opt.*
 * The step's dropout seed is a function of --seed and the step, and the teacher and the frozen
 * weights are rebuilt from --seed and --weights, so a resumed run computes the same numbers, bit
 * for bit, as one that never stopped. After each checkpoint only the newest --keep are kept.
 */
#ifndef PERFT_RUNTIME_CHECKPOINT_H
#define PERFT_RUNTIME_CHECKPOINT_H

#include <stdint.h>

#include "arena.h"
#include "identity.h"
#include "manifest.h"
#include "program.h"
#include "rng.h"
#include "safetensors.h"

typedef struct {
  int step;               /* optimizer steps done */
  Rng data_rng;           /* the training data stream after those steps */
  double first_loss;      /* step 1's loss; NAN before it */
  double last_loss;       /* the loss of step `step` */
  double best_eval_loss;  /* lowest evaluation loss so far; NAN before the first */
  int best_eval_step;
  double train_seconds;   /* time spent in steps so far */
  uint64_t metrics_bytes; /* length of the metrics file after the step's lines */
} TrainingState;

typedef struct {
  SafetensorsWriter writer;
  char *directory;
  int every, keep;
  char *path, *temp_path; /* buffers for DIR/step-N.safetensors and its temp name */
  size_t path_size;
  char **names;           /* (2 * grads) adam_m.NAME and adam_v.NAME */
  int num_names;
} Checkpointer;

/* Before any work: DIR must exist or be creatable, take new files and, unless resuming, hold no
 * checkpoints yet. Exits with a clear error otherwise. */
void checkpoint_directory_prepare(const RunOptions *options);
/* Start-up, after the parameters are loaded: prepares the writer (no allocation when writing). */
void checkpointer_create(Checkpointer *checkpointer, const RunOptions *options, const Manifest *manifest,
                         const Arena *arena, const ProgramIdentity *identity);
int checkpointer_due(const Checkpointer *checkpointer, int step, int steps);
/* Writes the checkpoint of `state` (the arena holds its tensors) and removes the oldest beyond
 * --keep. On failure exits with an error; the checkpoints already there are kept. */
void checkpointer_write(Checkpointer *checkpointer, const TrainingState *state);
void checkpointer_destroy(Checkpointer *checkpointer);

/* The newest checkpoint in directory (step-N.safetensors with the largest N) into path; 0 if none. */
int checkpoint_find_latest(const char *directory, char *path, size_t path_size);
/* --resume: options not given on the command line take the checkpoint's values; a given one that
 * would change the run's numbers (steps, lr, seed, ...) is an error. Call before start-up. */
void checkpoint_adopt_options(const SafetensorsFile *checkpoint, RunOptions *options);
/* Frees the strings checkpoint_adopt_options took from the checkpoint. */
void checkpoint_free_adopted(RunOptions *options);
/* After start-up: checks that the checkpoint is this program's, on this base, then loads the
 * trainable parameters, the AdamW moments and the training state. */
void checkpoint_restore(const SafetensorsFile *checkpoint, const Manifest *manifest, Arena *arena,
                        const ProgramIdentity *identity, TrainingState *state);

#endif
