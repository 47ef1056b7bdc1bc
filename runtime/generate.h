/* generate.h — greedy generation with the compiled forward (generate.c). */
#ifndef PERFT_RUNTIME_GENERATE_H
#define PERFT_RUNTIME_GENERATE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "manifest.h"

enum { GENERATE_MAX_ROWS = 4096 }; /* prompts in one forward (rows of the program's tokens) */

/* What generation needs of a program: the i32 input `tokens`, rows of `sequence` tokens (the
 * manifest's `sequence S`), the logits output of `classify` and its labels, the dropout seed. */
typedef struct {
  const Manifest *manifest;
  Arena *arena;
  int tokens_input, labels_input, seed_input, logits_output;
  int64_t rows, sequence, vocabulary;
} Generator;

/* 0 with the reason in error when the program cannot generate (no attention rows, no tokens
 * input, no logits). */
int generator_init(Generator *g, const Manifest *manifest, Arena *arena, char *error, size_t error_size);

/* Asked after each new token of a row: nonzero stops the row (its answer is known). */
typedef int (*GenerateStop)(void *context, int prompt, const int32_t *generated, int count);

/* Greedy continuation of num_prompts <= g->rows prompts at once, one per row: each step runs the
 * forward over all rows and appends to every live row the argmax of the logits at its last token.
 * A row stops at max_new tokens, when it is full, at eos (not appended), or when stop says so.
 * A prompt longer than sequence - 1 keeps its last sequence - 1 tokens. generated[p] (max_new
 * ids) and counts[p] receive each prompt's new tokens. Returns the forward passes run. */
int generate_greedy(Generator *g, const int32_t *const *prompts, const size_t *prompt_lengths, int num_prompts,
                    int max_new, int32_t pad_id, int32_t eos_id, GenerateStop stop, void *context,
                    int32_t **generated, int *counts);

#endif
