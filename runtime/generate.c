/* generate.c — greedy generation with the compiled forward: no cache, one forward over every row
 * per new token. Causal attention within each row of `sequence` tokens means the padding after a
 * row's last token does not change its logits, so rows of different lengths share each forward. */
#include "generate.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "launch.h"

int generator_init(Generator *g, const Manifest *manifest, Arena *arena, char *error, size_t error_size) {
  *g = (Generator){.manifest = manifest, .arena = arena, .tokens_input = -1};
  for (int i = 0; i < manifest->num_inputs; i++)
    if (strcmp(manifest->inputs[i].name, "tokens") == 0 && manifest->inputs[i].element_type == ELEMENT_I32)
      g->tokens_input = i;
  if (manifest->sequence < 1 || g->tokens_input < 0 || !manifest->has_classify) {
    snprintf(error, error_size, "generation needs a language model: an i32 input 'tokens', causal attention "
             "(rows of `seq` tokens) and a cross_entropy loss of logits; this program lacks %s",
             manifest->sequence < 1 ? "causal attention" : g->tokens_input < 0 ? "the input 'tokens'" : "logits");
    return 0;
  }
  const TensorSpec *tokens = &manifest->inputs[g->tokens_input];
  const TensorSpec *logits = &manifest->outputs[manifest->classify_output];
  g->labels_input = manifest->classify_input;
  g->seed_input = manifest->seed_input;
  g->logits_output = manifest->classify_output;
  g->sequence = manifest->sequence;
  g->rows = tokens->num_elements / manifest->sequence;
  g->vocabulary = logits->dims[logits->num_dims - 1];
  if (g->rows > GENERATE_MAX_ROWS) {
    snprintf(error, error_size, "generation: %lld rows of %lld tokens; at most %d prompts a forward (compile with a "
             "smaller B)", (long long)g->rows, (long long)manifest->sequence, GENERATE_MAX_ROWS);
    return 0;
  }
  if (tokens->num_elements % manifest->sequence || logits->num_elements != tokens->num_elements * g->vocabulary) {
    snprintf(error, error_size, "generation: 'tokens' (%s) is not rows of %lld tokens with one logits row each",
             tokens->dims_text, (long long)manifest->sequence);
    return 0;
  }
  return 1;
}

/* The first index of the largest logit (NaN counts as smallest). */
static int32_t argmax(const float *row, int64_t count) {
  int64_t best = 0;
  for (int64_t v = 1; v < count; v++)
    if (row[v] > row[best] || (isnan(row[best]) && !isnan(row[v]))) best = v;
  return (int32_t)best;
}

int generate_greedy(Generator *g, const int32_t *const *prompts, const size_t *prompt_lengths, int num_prompts,
                    int max_new, int32_t pad_id, int32_t eos_id, GenerateStop stop, void *context,
                    int32_t **generated, int *counts) {
  assertCheck(num_prompts <= g->rows);
  int32_t *tokens = g->arena->inputs[g->tokens_input]; /* (rows, sequence) */
  int64_t S = g->sequence;
  int64_t length[GENERATE_MAX_ROWS];
  char live[GENERATE_MAX_ROWS];
  for (int64_t r = 0; r < g->rows; r++) {
    int64_t n = 0;
    if (r < num_prompts) {
      size_t keep = prompt_lengths[r] < (size_t)(S - 1) ? prompt_lengths[r] : (size_t)(S - 1);
      const int32_t *from = prompts[r] + (prompt_lengths[r] - keep);
      for (size_t t = 0; t < keep; t++) tokens[r * S + (int64_t)t] = from[t];
      n = (int64_t)keep;
      counts[r] = 0;
    }
    for (int64_t t = n; t < S; t++) tokens[r * S + t] = pad_id;
    length[r] = n;
    live[r] = r < num_prompts && n > 0 && max_new > 0;
  }
  if (g->labels_input >= 0) memset(g->arena->inputs[g->labels_input], 0, (size_t)(g->rows * S) * sizeof(int32_t));
  if (g->seed_input >= 0) *(int32_t *)g->arena->inputs[g->seed_input] = 0; /* no dropout */
  int passes = 0;
  for (;;) {
    int any = 0;
    for (int64_t r = 0; r < num_prompts; r++) any |= live[r];
    if (!any) break;
    arena_forward(g->arena);
    passes++;
    float *logits = g->arena->outputs[g->logits_output]; /* (rows · sequence, vocabulary) */
    for (int r = 0; r < num_prompts; r++) /* only what is read: a live row's last position (on a GPU the whole
                                             output is rows · sequence · vocabulary floats a token) */
      if (live[r])
        arena_to_host(g->arena, logits + (r * S + length[r] - 1) * g->vocabulary, (size_t)g->vocabulary * sizeof(float));
    for (int r = 0; r < num_prompts; r++) {
      if (!live[r]) continue;
      int32_t id = argmax(logits + (r * S + length[r] - 1) * g->vocabulary, g->vocabulary);
      if (id == eos_id) {
        live[r] = 0;
        continue;
      }
      generated[r][counts[r]++] = id;
      if (length[r] < S) tokens[r * S + length[r]++] = id;
      if (counts[r] >= max_new || length[r] >= S || (stop && stop(context, r, generated[r], counts[r]))) live[r] = 0;
    }
  }
  return passes;
}
