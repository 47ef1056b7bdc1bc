/* evaluate_tasks.c — `prog --evaluate-tasks DIR --tokenizer TOKENIZER.json`: the commonsense tasks
 * found in DIR (DIR/<task>/test.json, tasks.h), each scored by greedy generation; a line per task,
 * the average, and with --results FILE.json every example's output and prediction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "check.h"
#include "generate.h"
#include "identity.h"
#include "outputs.h"
#include "tasks.h"

int run_evaluate_tasks(const Manifest *manifest, const RunOptions *options) {
  if (!options->tokenizer_path) perft_fatal("--evaluate-tasks needs --tokenizer TOKENIZER.json (the model's)");
  char *results_path = options->results_path ? output_file_prepare("--results", options->results_path) : NULL;
  Tokenizer *tokenizer = NULL;
  char error[1024];
  if (!tokenizer_load(options->tokenizer_path, &tokenizer, error, sizeof error)) perft_fatal("%s", error);
  DataPlan plan;
  Arena arena;
  program_start(manifest, options, ARENA_EVALUATION, &plan, &arena);
  ProgramIdentity identity;
  identity_compute(perft_manifest, manifest, &arena, &identity);
  identity_check_weights(options, &identity);
  Generator g;
  if (!generator_init(&g, manifest, &arena, error, sizeof error)) perft_fatal("%s", error);
  FILE *results = NULL;
  char *temp = NULL;
  if (results_path) {
    size_t length = strlen(results_path) + 32;
    temp = callocCheck(length, 1);
    snprintf(temp, length, "%s.tmp", results_path);
    results = fopen(temp, "w");
    if (!results) perft_fatal("cannot write '%s'", temp);
    fputs("{\n  \"examples\": [", results);
  }
  TaskScore scores[64];
  int found[64] = {0}, num_found = 0, first_example = 1;
  double sum = 0;
  struct timespec begin, end;
  clock_gettime(CLOCK_MONOTONIC, &begin);
  for (int t = 0; t < task_count(); t++) {
    size_t length = strlen(options->evaluate_dir) + strlen(task_name(t)) + 16;
    char *path = callocCheck(length, 1);
    snprintf(path, length, "%s/%s/test.json", options->evaluate_dir, task_name(t));
    FILE *probe = fopen(path, "r");
    if (probe) {
      fclose(probe);
      scores[t] = task_evaluate(&g, tokenizer, t, path, options, results, &first_example);
      found[t] = 1;
      num_found++;
      double accuracy = scores[t].total ? (double)scores[t].correct / scores[t].total : 0;
      sum += accuracy;
      printf("%-14s %-10s accuracy %6.2f%%  (%d of %d)\n", task_name(t), task_label(t), 100 * accuracy,
             scores[t].correct, scores[t].total);
      fflush(stdout);
    }
    free(path);
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  if (!num_found)
    perft_fatal("--evaluate-tasks %s: no task there (expected DIR/boolq/test.json, DIR/piqa/test.json, ... as in "
                "the LLM-Adapters/PERFT dataset folder)", options->evaluate_dir);
  printf("%-25s accuracy %6.2f%%  (mean of %d task%s, %.1f s)\n", "average", 100 * sum / num_found, num_found,
         num_found == 1 ? "" : "s", (double)(end.tv_sec - begin.tv_sec) + 1e-9 * (double)(end.tv_nsec - begin.tv_nsec));
  if (results) {
    fputs("\n  ],\n  \"tasks\": {", results);
    int first = 1;
    for (int t = 0; t < task_count(); t++) {
      if (!found[t]) continue;
      fprintf(results, "%s\n    \"%s\": {\"correct\": %d, \"total\": %d, \"accuracy\": %.6f}", first ? "" : ",",
              task_name(t), scores[t].correct, scores[t].total,
              scores[t].total ? (double)scores[t].correct / scores[t].total : 0.0);
      first = 0;
    }
    fprintf(results, "\n  },\n  \"average\": %.6f,\n  \"decoding\": \"greedy\",\n  \"max_new_tokens\": %d\n}\n",
            sum / num_found, options->max_new_tokens);
    if (fclose(results) != 0 || rename(temp, results_path) != 0) perft_fatal("cannot write '%s'", results_path);
    printf("results: %s\n", results_path);
  }
  free(temp);
  free(results_path);
  tokenizer_destroy(tokenizer);
  data_plan_destroy(&plan);
  arena_destroy(&arena);
  return 0;
}
