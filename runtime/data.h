/* data.h: where each step's inputs come from (docs/ABI.md, "Data" and "Additions for token models").
 *
 *   teacher   `teacher IN OUT`: other inputs drawn, IN <- OUT of perft_forward on the teacher
 *   task      `classify LOGITS LABELS`, no teacher: token inputs uniform in [0, range), labels by
 *             a rule (--task affine:A:B | add:C), held-out pairs kept for evaluation
 *   file      --data FILE (data_file.h): rows of a token file perft-data wrote
 *   normal    anything else: f32 inputs N(0, 1), ranged i32 inputs uniform in [0, range)
 * In every case an i32 input without a range is zero and the seed input is 0 (training writes a
 * fresh nonzero seed after the data, just before perft_train_step).
 */
#ifndef PERFT_RUNTIME_DATA_H
#define PERFT_RUNTIME_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "manifest.h"
#include "rng.h"

typedef enum { DATA_NORMAL, DATA_TEACHER, DATA_TASK, DATA_FILE } DataKind;
typedef enum { TASK_AFFINE, TASK_ADD } TaskKind;
typedef enum { SPLIT_TRAIN, SPLIT_EVAL } DataSplit;

/* A label rule over token ids a, b and V classes. */
typedef struct {
  TaskKind kind;
  int64_t scale, offset;  /* affine: label = (scale * a + offset) mod V */
  int64_t constant;       /* add:    label = (a + b + constant) mod V */
  char text[64];          /* as given, e.g. "affine:3:1" */
} TokenTask;

typedef struct {
  DataKind kind;
  TokenTask task;         /* DATA_TASK only */
  int label_input;        /* the classify labels, -1 without classify */
  int token_inputs[2];    /* a and b: the first two ranged i32 inputs other than labels and seed */
  int num_token_inputs;   /* how many such inputs the program has (may exceed 2) */
  int held_out_split;     /* 1: (a, b) pairs with token_pair_held_out are evaluation-only */
  char split_note[160];   /* why there is (or is not) a held-out split, for the configuration */
  struct TokenFile *file; /* DATA_FILE: --data, the token file (data_file.c) */
} DataPlan;

/* "affine:A:B" or "add:C" (integers, |value| < 2^31). Returns 0 with a reason on error. */
int token_task_parse(const char *text, TokenTask *task, char *error, size_t error_size);
/* The held-out rule, fixed for all seeds and programs (so that pretraining and fine-tuning agree):
 * mix64(((uint64)a << 32) | (uint32)b) % 5 == 0. */
int token_pair_held_out(int64_t a, int64_t b);
/* The per-step dropout seed: nonzero, in [1, 2^31), a function of --seed and the step only. */
int32_t training_step_seed(uint64_t seed, int step);

/* Picks the data source for the program: the token file data_path (--data, DATA_FILE) when given,
 * else by the program; task_text NULL means the default (affine:1:0 for a classifying program
 * without a teacher). Exits with an error when --task or --data does not fit. */
void data_plan_create(const Manifest *manifest, const char *task_text, const char *data_path, DataPlan *plan);
void data_plan_destroy(DataPlan *plan);
/* One line for the configuration table. */
void data_describe(const DataPlan *plan, const Manifest *manifest, char *out, size_t out_size);
/* Fills every input for one batch of the given split (seed input <- 0; with a teacher, runs the
 * teacher's perft_forward). No allocation. */
void data_fill(const DataPlan *plan, const Manifest *manifest, Arena *arena, Rng *rng,
               DataSplit split);
/* Writes value into the seed input, if the program has one. */
void data_set_seed(const Manifest *manifest, Arena *arena, int32_t value);

#endif
