/* data.c: each step's inputs: teacher targets, token tasks with a held-out split, or noise.
 *
 * Token task (classify, no teacher), per label position t, with a = token_inputs[0][t] and
 * b = token_inputs[1][t]:
 *   a, b      ~ uniform [0, range); with a held-out split, redrawn until
 *               token_pair_held_out(a, b) == (split == SPLIT_EVAL)
 *   label[t]  = (A a + B) mod V          affine:A:B
 *             = (a + b + C) mod V        add:C
 */
#include "data.h"
#include "launch.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data_file.h"
#include "program.h"

/* Pairs whose exhaustive count is cheap are checked at start-up: a split that holds out none or
 * all of them is turned off. */
#define SPLIT_EXHAUSTIVE_CHECK_LIMIT (1 << 22)
#define SPLIT_MAX_REDRAWS (1 << 20)

static int parse_task_integer(const char *text, const char *end, int64_t *value) {
  char buffer[32];
  size_t length = (size_t)(end - text);
  if (length == 0 || length >= sizeof buffer) return 0;
  memcpy(buffer, text, length);
  buffer[length] = '\0';
  errno = 0;
  char *stop;
  long long parsed = strtoll(buffer, &stop, 10);
  if (errno || *stop || parsed <= -2147483648LL || parsed >= 2147483648LL) return 0;
  *value = parsed;
  return 1;
}

int token_task_parse(const char *text, TokenTask *task, char *error, size_t error_size) {
  memset(task, 0, sizeof *task);
  snprintf(task->text, sizeof task->text, "%s", text);
  const char *end = text + strlen(text);
  if (strncmp(text, "affine:", 7) == 0) {
    const char *colon = strchr(text + 7, ':');
    task->kind = TASK_AFFINE;
    if (colon && parse_task_integer(text + 7, colon, &task->scale) &&
        parse_task_integer(colon + 1, end, &task->offset))
      return 1;
  } else if (strncmp(text, "add:", 4) == 0) {
    task->kind = TASK_ADD;
    if (parse_task_integer(text + 4, end, &task->constant)) return 1;
  }
  snprintf(error, error_size, "--task '%s': expected affine:A:B or add:C with integers A, B, C",
           text);
  return 0;
}

int token_pair_held_out(int64_t a, int64_t b) {
  uint64_t key = ((uint64_t)a << 32) | (uint32_t)b;
  return mix64(key) % 5 == 0;
}

int32_t training_step_seed(uint64_t seed, int step) {
  uint64_t mixed = mix64(mix64(seed ^ 0x5EEDull) + (uint64_t)step * 0x9E3779B97F4A7C15ull);
  int32_t value = (int32_t)(mixed >> 33); /* 31 bits: non-negative */
  return value ? value : 1;
}

static int64_t modulo(int64_t value, int64_t n) {
  int64_t r = value % n;
  return r < 0 ? r + n : r;
}

static int64_t task_label(const TokenTask *task, int64_t a, int64_t b, int64_t classes) {
  if (task->kind == TASK_AFFINE) return modulo(task->scale * a + task->offset, classes);
  return modulo(a + b + task->constant, classes);
}

/* Held out / kept counts over every pair, for small vocabularies. */
static void check_split(DataPlan *plan, const Manifest *manifest) {
  const TensorSpec *a = &manifest->inputs[plan->token_inputs[0]];
  const TensorSpec *b = &manifest->inputs[plan->token_inputs[1]];
  if (a->num_elements != b->num_elements) {
    snprintf(plan->split_note, sizeof plan->split_note,
             "no held-out split ('%s' and '%s' differ in size); evaluation draws fresh tokens",
             a->name, b->name);
    return;
  }
  if (a->range * b->range <= SPLIT_EXHAUSTIVE_CHECK_LIMIT) {
    int64_t held = 0;
    for (int64_t x = 0; x < a->range; x++)
      for (int64_t y = 0; y < b->range; y++) held += token_pair_held_out(x, y);
    if (held == 0 || held == a->range * b->range) {
      snprintf(plan->split_note, sizeof plan->split_note,
               "no held-out split (%s of the %lld pairs would be held out); evaluation draws "
               "fresh tokens", held ? "all" : "none", (long long)(a->range * b->range));
      return;
    }
    snprintf(plan->split_note, sizeof plan->split_note,
             "held-out split: %lld of %lld (%s, %s) pairs evaluation-only", (long long)held,
             (long long)(a->range * b->range), a->name, b->name);
  } else {
    snprintf(plan->split_note, sizeof plan->split_note,
             "held-out split: (%s, %s) pairs with hash %% 5 == 0 evaluation-only", a->name,
             b->name);
  }
  plan->held_out_split = 1;
}

void data_plan_create(const Manifest *manifest, const char *task_text, const char *data_path, DataPlan *plan) {
  memset(plan, 0, sizeof *plan);
  plan->label_input = manifest->has_classify ? manifest->classify_input : -1;
  plan->token_inputs[0] = plan->token_inputs[1] = -1;
  for (int i = 0; i < manifest->num_inputs; i++) {
    const TensorSpec *input = &manifest->inputs[i];
    if (input->element_type != ELEMENT_I32 || !input->range || i == plan->label_input ||
        i == manifest->seed_input)
      continue;
    if (plan->num_token_inputs < 2) plan->token_inputs[plan->num_token_inputs] = i;
    plan->num_token_inputs++;
  }
  if (data_path) {
    if (task_text) perft_fatal("--task makes data by a rule; --data reads it from a file: give one of them");
    plan->kind = DATA_FILE;
    plan->file = data_file_open(data_path, manifest, plan);
    return;
  }
  if (manifest->has_teacher) {
    if (task_text) perft_fatal("--task needs a program without a teacher (this one has 'teacher')");
    plan->kind = DATA_TEACHER;
    return;
  }
  if (!manifest->has_classify || plan->num_token_inputs == 0) {
    if (task_text)
      perft_fatal("--task needs a program with 'classify' and a ranged i32 token input");
    plan->kind = DATA_NORMAL;
    return;
  }
  char error[256];
  if (!token_task_parse(task_text ? task_text : "affine:1:0", &plan->task, error, sizeof error))
    perft_fatal("%s", error);
  const TensorSpec *labels = &manifest->inputs[plan->label_input];
  int needed = plan->task.kind == TASK_ADD ? 2 : 1;
  if (plan->num_token_inputs < needed)
    perft_fatal("--task %s needs two ranged i32 token inputs besides the labels; the program has "
                "one", plan->task.text);
  for (int k = 0; k < needed; k++) {
    const TensorSpec *tokens = &manifest->inputs[plan->token_inputs[k]];
    if (tokens->num_elements != labels->num_elements)
      perft_fatal("--task %s: token input '%s' (%s) and labels '%s' (%s) differ in size",
                  plan->task.text, tokens->name, tokens->dims_text, labels->name,
                  labels->dims_text);
  }
  plan->kind = DATA_TASK;
  if (plan->num_token_inputs >= 2) check_split(plan, manifest);
  else
    snprintf(plan->split_note, sizeof plan->split_note,
             "one token input: evaluation draws fresh tokens from its own stream");
}

void data_plan_destroy(DataPlan *plan) {
  if (plan->file) data_file_close(plan->file);
  plan->file = NULL;
}

void data_describe(const DataPlan *plan, const Manifest *manifest, char *out, size_t out_size) {
  if (plan->kind == DATA_FILE) {
    data_file_describe(plan->file, out, out_size);
  } else if (plan->kind == DATA_TEACHER) {
    snprintf(out, out_size, "teacher: %s <- %s of a perturbed teacher; other inputs N(0, 1)",
             manifest->inputs[manifest->teacher_input].name,
             manifest->outputs[manifest->teacher_output].name);
  } else if (plan->kind == DATA_NORMAL) {
    snprintf(out, out_size, "f32 inputs N(0, 1), i32 inputs uniform in their range, fresh each "
             "step");
  } else {
    const char *a = manifest->inputs[plan->token_inputs[0]].name;
    const char *b = plan->token_inputs[1] >= 0 ? manifest->inputs[plan->token_inputs[1]].name : "";
    const TensorSpec *labels = &manifest->inputs[plan->label_input];
    char rule[160];
    if (plan->task.kind == TASK_AFFINE)
      snprintf(rule, sizeof rule, "(%lld*%s + %lld) mod %lld", (long long)plan->task.scale, a,
               (long long)plan->task.offset, (long long)labels->range);
    else
      snprintf(rule, sizeof rule, "(%s + %s + %lld) mod %lld", a, b,
               (long long)plan->task.constant, (long long)labels->range);
    snprintf(out, out_size, "task %s: %s <- %s; tokens uniform; %s", plan->task.text,
             labels->name, rule, plan->split_note);
  }
}

void data_set_seed(const Manifest *manifest, Arena *arena, int32_t value) {
  if (manifest->seed_input >= 0) *(int32_t *)arena->inputs[manifest->seed_input] = value;
}

void data_fill(const DataPlan *plan, const Manifest *manifest, Arena *arena, Rng *rng,
               DataSplit split) {
  if (plan->kind == DATA_FILE) {
    data_file_fill(plan->file, plan, manifest, arena, rng, split);
    data_set_seed(manifest, arena, 0);
    return;
  }
  for (int i = 0; i < manifest->num_inputs; i++) {
    const TensorSpec *input = &manifest->inputs[i];
    if (plan->kind == DATA_TEACHER && i == manifest->teacher_input) continue;
    if (input->element_type == ELEMENT_F32) {
      rng_fill_normal(rng, arena->inputs[i], input->num_elements, 0.0, 1.0);
    } else {
      int32_t *values = arena->inputs[i]; /* (input dims) */
      if (i == manifest->seed_input || !input->range)
        memset(values, 0, (size_t)input->num_elements * sizeof(int32_t));
      else
        for (int64_t e = 0; e < input->num_elements; e++)
          values[e] = (int32_t)rng_below(rng, input->range);
    }
  }
  if (plan->kind == DATA_TASK) {
    const TensorSpec *labels_spec = &manifest->inputs[plan->label_input];
    int32_t *labels = arena->inputs[plan->label_input];           /* (label dims) */
    int32_t *a = arena->inputs[plan->token_inputs[0]];             /* (label dims) */
    int32_t *b = plan->token_inputs[1] >= 0 ? arena->inputs[plan->token_inputs[1]] : NULL;
    int64_t range_a = manifest->inputs[plan->token_inputs[0]].range;
    int64_t range_b = b ? manifest->inputs[plan->token_inputs[1]].range : 0;
    int want_held_out = split == SPLIT_EVAL;
    for (int64_t t = 0; t < labels_spec->num_elements; t++) {
      if (plan->held_out_split) {
        int redraws = 0;
        while (token_pair_held_out(a[t], b[t]) != want_held_out) {
          if (++redraws > SPLIT_MAX_REDRAWS)
            perft_fatal("cannot draw a %s token pair: the held-out split is degenerate",
                        want_held_out ? "held-out" : "training");
          a[t] = (int32_t)rng_below(rng, range_a);
          b[t] = (int32_t)rng_below(rng, range_b);
        }
      }
      labels[t] = (int32_t)task_label(&plan->task, a[t], b ? b[t] : 0, labels_spec->range);
    }
  }
  data_set_seed(manifest, arena, 0);
  if (plan->kind == DATA_TEACHER) {
    arena_teacher_forward(arena);
    memcpy(arena->inputs[manifest->teacher_input],
           arena->teacher_outputs[manifest->teacher_output],
           (size_t)manifest->inputs[manifest->teacher_input].num_elements * sizeof(float));
  }
}
