/* tasks.h — `--evaluate-tasks DIR`: accuracy on the eight commonsense tasks by greedy generation
 * and answer matching, as the official PERFT evaluation scores them (tasks.c). */
#ifndef PERFT_RUNTIME_TASKS_H
#define PERFT_RUNTIME_TASKS_H

#include <stdio.h>

#include "generate.h"
#include "manifest.h"
#include "program.h"
#include "tokenizer.h"

/* The answer the official evaluation extracts from a generated text for `task` (its first word of
 * the task's answer family, e.g. "answer3"), into out; "" when there is none or the task is
 * unknown. */
void task_extract_answer(const char *task, const char *text, char *out, size_t out_size);

/* The eight tasks, in the paper's order: their folder names ("boolq", ... "openbookqa") and labels. */
int task_count(void);
const char *task_name(int task);
const char *task_label(int task);

typedef struct {
  int correct, total;
} TaskScore;

/* Scores task on the examples of path (--task-limit of them): batches of g->rows prompts, greedy
 * generation until an answer, its end or --max-new-tokens; with results, appends each example as
 * a JSON object (after a comma unless *first_example). */
TaskScore task_evaluate(Generator *g, Tokenizer *tokenizer, int task, const char *path, const RunOptions *options,
                        FILE *results, int *first_example);

/* evaluate_tasks.c: the mode. */
int run_evaluate_tasks(const Manifest *manifest, const RunOptions *options);

#endif
