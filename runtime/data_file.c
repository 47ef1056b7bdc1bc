/* data_file.c: rows of a token file as each step's tokens and labels; see data_file.h. */
#include "data_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "safetensors.h"

enum { HELD_OUT_EVERY = 20 }; /* row % 20 == 19 is held out (files of at least 20 rows) */

struct TokenFile {
  SafetensorsFile file;
  const int32_t *tokens, *labels; /* (rows, length), in the mapping */
  int64_t rows, length, rows_per_step;
  int held_out;                   /* 1: a held-out split exists */
  int64_t train_rows, eval_rows;
};

/* The file's i32 [rows, length] tensor `name`, checked. */
static const int32_t *token_tensor(TokenFile *f, const char *name, int64_t *rows, int64_t *length) {
  const SafetensorsEntry *entry = safetensors_find(&f->file, name);
  if (!entry) perft_fatal("--data %s: no tensor '%s' (a token file from perft-data has tokens and labels)", f->file.path, name);
  if (strcmp(entry->dtype, "I32") != 0 || entry->num_dims != 2)
    perft_fatal("--data %s: '%s' must be I32 [rows, length], found %s with %d dims", f->file.path, name, entry->dtype,
                entry->num_dims);
  *rows = entry->shape[0];
  *length = entry->shape[1];
  return (const int32_t *)(f->file.data + entry->data_begin);
}

/* Every value of values must lie in [0, range), or be −100 where ignorable. */
static void check_values(const TokenFile *f, const char *name, const int32_t *values, int64_t range, int ignorable) {
  for (int64_t i = 0; i < f->rows * f->length; i++)
    if ((values[i] < 0 || values[i] >= range) && !(ignorable && values[i] == -100))
      perft_fatal("--data %s: %s[%lld, %lld] = %d is outside [0, %lld)%s", f->file.path, name,
                  (long long)(i / f->length), (long long)(i % f->length), values[i], (long long)range,
                  ignorable ? " and is not -100" : "");
}

TokenFile *data_file_open(const char *path, const Manifest *manifest, const DataPlan *plan) {
  if (!manifest->has_classify || plan->num_token_inputs != 1)
    perft_fatal("--data needs a program with 'classify' and exactly one ranged i32 token input besides the "
                "labels (this one has %d)", plan->num_token_inputs);
  for (int i = 0; i < manifest->num_inputs; i++)
    if (i != plan->label_input && i != plan->token_inputs[0] && i != manifest->seed_input)
      perft_fatal("--data fills the tokens and the labels only, but the program also takes '%s'",
                  manifest->inputs[i].name);
  TokenFile *f = callocCheck(1, sizeof *f);
  char error[1024];
  if (!safetensors_open(path, &f->file, error, sizeof error)) perft_fatal("--data: %s", error);
  int64_t label_rows, label_length;
  f->tokens = token_tensor(f, "tokens", &f->rows, &f->length);
  f->labels = token_tensor(f, "labels", &label_rows, &label_length);
  if (label_rows != f->rows || label_length != f->length || f->rows < 1 || f->length < 1)
    perft_fatal("--data %s: tokens [%lld, %lld] and labels [%lld, %lld] must have one shape with at least one row",
                path, (long long)f->rows, (long long)f->length, (long long)label_rows, (long long)label_length);
  const TensorSpec *tokens = &manifest->inputs[plan->token_inputs[0]], *labels = &manifest->inputs[plan->label_input];
  if (tokens->num_elements != labels->num_elements || tokens->num_elements % f->length != 0)
    perft_fatal("--data %s: rows of %lld tokens, but the program takes %lld tokens a step ('%s' %s): not a "
                "whole number of rows (hint: perft-data --max-length, or the program's tokens)",
                path, (long long)f->length, (long long)tokens->num_elements, tokens->name, tokens->dims_text);
  check_values(f, "tokens", f->tokens, tokens->range, 0);
  check_values(f, "labels", f->labels, labels->range, 1);
  f->rows_per_step = tokens->num_elements / f->length;
  f->held_out = f->rows >= HELD_OUT_EVERY;
  f->eval_rows = f->held_out ? f->rows / HELD_OUT_EVERY : 0;
  f->train_rows = f->rows - f->eval_rows;
  return f;
}

void data_file_close(TokenFile *f) {
  safetensors_close(&f->file);
  free(f);
}

void data_file_describe(const TokenFile *f, char *out, size_t out_size) {
  snprintf(out, out_size, "%s: %lld rows of %lld tokens, %lld a step, drawn at random; %s", f->file.path,
           (long long)f->rows, (long long)f->length, (long long)f->rows_per_step,
           f->held_out ? "every 20th row held out for evaluation" : "under 20 rows: evaluation reads training rows");
}

/* The row index of the n-th training row (n < train_rows) or held-out row (n < eval_rows). */
static int64_t row_of(const TokenFile *f, int64_t n, DataSplit split) {
  if (!f->held_out) return n;
  if (split == SPLIT_EVAL) return n * HELD_OUT_EVERY + HELD_OUT_EVERY - 1;
  return n / (HELD_OUT_EVERY - 1) * HELD_OUT_EVERY + n % (HELD_OUT_EVERY - 1);
}

void data_file_fill(const TokenFile *f, const DataPlan *plan, const Manifest *manifest, Arena *arena, Rng *rng,
                    DataSplit split) {
  int32_t *tokens = arena->inputs[plan->token_inputs[0]], *labels = arena->inputs[plan->label_input];
  int64_t choices = split == SPLIT_EVAL && f->held_out ? f->eval_rows : f->train_rows;
  for (int64_t slot = 0; slot < f->rows_per_step; slot++) {
    int64_t row = row_of(f, rng_below(rng, choices), f->held_out ? split : SPLIT_TRAIN);
    memcpy(tokens + slot * f->length, f->tokens + row * f->length, (size_t)f->length * sizeof(int32_t));
    memcpy(labels + slot * f->length, f->labels + row * f->length, (size_t)f->length * sizeof(int32_t));
  }
}
