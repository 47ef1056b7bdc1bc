/* program.h: the symbols the generated object file defines (docs/ABI.md), and the options and
 * start-up steps shared by the runtime's modes. */
#ifndef PERFT_RUNTIME_PROGRAM_H
#define PERFT_RUNTIME_PROGRAM_H

#include <stdint.h>

#include "arena.h"
#include "data.h"
#include "manifest.h"
#include "safetensors.h"

extern const char perft_manifest[];
void perft_train_step(void **buffers); /* forward + backward: writes loss, outputs, grads */
void perft_forward(void **buffers);    /* forward only: writes loss and outputs */
/* GPU targets only (manifest `optimizer device LANES`), hence weak: NULL in a CPU object */
void perft_grad_norm(void **buffers) __attribute__((weak)); /* partial sums of squares of the grads */
void perft_adamw(void **buffers) __attribute__((weak));     /* one AdamW update of every trainable tensor */

#define MAX_WEIGHTS_FILES 8

/* The options a checkpoint records; on --resume the ones not given take the checkpoint's values
 * and a given one that differs is an error (checkpoint.c). */
enum {
  OPTION_STEPS = 1u << 0, OPTION_LR = 1u << 1, OPTION_WARMUP = 1u << 2, OPTION_WEIGHT_DECAY = 1u << 3,
  OPTION_CLIP = 1u << 4, OPTION_SEED = 1u << 5, OPTION_TASK = 1u << 6, OPTION_EVAL_EVERY = 1u << 7,
  OPTION_EVAL_BATCHES = 1u << 8, OPTION_WEIGHTS = 1u << 9, OPTION_INIT = 1u << 10,
  OPTION_METRICS = 1u << 11, OPTION_SAVE = 1u << 12, OPTION_SAVE_ALL = 1u << 13,
  OPTION_SAVE_EVERY = 1u << 14, OPTION_CHECKPOINT_EVERY = 1u << 15, OPTION_KEEP = 1u << 16,
  OPTION_CHECKPOINT_DIR = 1u << 17, OPTION_DATA = 1u << 18, OPTION_BASE = 1u << 19
};

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
  const char *base_dir;      /* --base DIR: a Hugging Face checkpoint folder (base.h), loaded before --weights */
  const char *metrics_path;  /* NULL: none */
  const char *save_path;     /* NULL: none; the trainable tensors */
  const char *save_all_path; /* NULL: none; every parameter */
  int save_every;            /* 0: only at the end */
  const char *task;          /* --task affine:A:B | add:C; NULL: the default for the program */
  const char *data_path;     /* --data FILE: a token file (data_file.h); NULL: data by rule */
  int eval_every;            /* 0: evaluate only at the end */
  int eval_batches;          /* held-out batches per evaluation */
  const char *checkpoint_dir;  /* NULL: no checkpoints */
  int checkpoint_every;        /* steps between checkpoints (also one at the last step) */
  int keep;                    /* checkpoints kept in checkpoint_dir, newest first */
  const char *resume_dir;      /* --resume: continue from the newest checkpoint there */
  unsigned given;              /* OPTION_* bits of the options the command line set */
  char *adopted[MAX_WEIGHTS_FILES + 8]; /* strings taken from a checkpoint (freed at the end) */
  int num_adopted;
  /* other modes */
  int list_params;
  const char *dump_path;
  const char *inputs_path;
  int eval_only;
  const char *evaluate_dir;   /* --evaluate-tasks DIR: the eight commonsense tasks (tasks.h) */
  const char *tokenizer_path; /* --tokenizer TOKENIZER.json */
  const char *results_path;   /* --results FILE.json */
  int max_new_tokens;         /* --max-new-tokens N (32) */
  int task_limit;             /* --task-limit N: the first N examples of each task (0: all) */
  const char *export_perft_dir; /* --export-perft DIR (export.h) */
  const char *export_peft_dir;  /* --export-peft DIR */
} RunOptions;

/* Parameters, in params.c. */
/* Which params the weights files must hold: all (--dump), the frozen ones (training, evaluation), or
 * none (--init with --weights: what the files lack keeps its init, and a line on stdout names it). */
typedef enum { WEIGHTS_ALL_REQUIRED, WEIGHTS_FROZEN_REQUIRED, WEIGHTS_NONE_REQUIRED } WeightsPolicy;
/* Fills every param from its manifest init rule (seeded), then overwrites them from the weights
 * files in order (a later file wins); a required param must be in at least one file. Reports
 * every missing or mismatched tensor in one error. Tensors the program does not know are ignored. */
void params_initialise(const Manifest *manifest, Arena *arena, uint64_t seed, const char *base_dir,
                       const char *const *weights_paths, int num_weights, WeightsPolicy policy);
/* Reads every input from path (all required except the seed input, which is set to 0); i32
 * inputs must be I32 tensors with values inside their range. */
void inputs_load(const Manifest *manifest, Arena *arena, const char *path);
/* inputs_load without exiting, from an opened file: returns 0 with every problem on one line in
 * error (the data reader's fuzz target calls it). */
int inputs_read(const Manifest *manifest, Arena *arena, const SafetensorsFile *file, char *error,
                size_t error_size);
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
