/* tasks.c — accuracy on the eight commonsense tasks of the PERFT paper (BoolQ, PIQA, SIQA,
 * HellaSwag, WinoGrande, ARC-e, ARC-c, OBQA) as the official evaluation computes it
 * (liuyilun2000/PERFT commonsense/commonsense_evaluate.py):
 *
 *   DIR/<task>/test.json     [{"instruction": ..., "input": ..., "answer": "answer3"}, ...]
 *   prompt = the fine-tuning template with the output "the correct answer is" (data/prompt.h),
 *            tokenized with the tokenizer's special tokens;
 *   output = the greedy continuation, special tokens left out of its text;
 *   prediction = the first word of the task's family in the output (re.findall(...)[0]):
 *            boolq true|false; piqa solution1|2; social_i_qa, ARC-Easy, ARC-Challenge, openbookqa
 *            answer1..5; hellaswag ending1..4; winogrande option1|2;
 *   correct when prediction == answer.
 * Generation stops at a row's first family word (the prediction cannot change after it), at
 * <|endoftext|>, or after --max-new-tokens (32, as the official script). The official script decodes
 * with beam search (4 beams); this is greedy. evaluate_tasks.c runs the tasks of a folder.
 */
#include "tasks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"
#include "prompt.h"

typedef struct {
  const char *name, *label;
  const char *family; /* answer words: family followed by a digit in [first, last]; NULL: true|false */
  int first, last;
} TaskSpec;

static const TaskSpec TASKS[] = {
    {"boolq", "BoolQ", NULL, 0, 0},          {"piqa", "PIQA", "solution", 1, 2},
    {"social_i_qa", "SIQA", "answer", 1, 5}, {"hellaswag", "HellaSwag", "ending", 1, 4},
    {"winogrande", "WinoGrande", "option", 1, 2}, {"ARC-Easy", "ARC-e", "answer", 1, 5},
    {"ARC-Challenge", "ARC-c", "answer", 1, 5},   {"openbookqa", "OBQA", "answer", 1, 5},
};
enum { NUM_TASKS = sizeof TASKS / sizeof TASKS[0] };

static const TaskSpec *task_spec(const char *name) {
  for (int t = 0; t < NUM_TASKS; t++)
    if (strcmp(TASKS[t].name, name) == 0) return &TASKS[t];
  return NULL;
}

/* The family word starting at text, or 0: its length. */
static size_t family_word_at(const TaskSpec *spec, const char *text, char *out, size_t out_size) {
  if (!spec->family) {
    const char *words[2] = {"true", "false"};
    for (int w = 0; w < 2; w++)
      if (strncmp(text, words[w], strlen(words[w])) == 0) {
        snprintf(out, out_size, "%s", words[w]);
        return strlen(words[w]);
      }
    return 0;
  }
  size_t n = strlen(spec->family);
  if (strncmp(text, spec->family, n) != 0 || text[n] < '0' + spec->first || text[n] > '0' + spec->last) return 0;
  snprintf(out, out_size, "%.*s", (int)n + 1, text);
  return n + 1;
}

void task_extract_answer(const char *task, const char *text, char *out, size_t out_size) {
  const TaskSpec *spec = task_spec(task);
  out[0] = 0;
  for (const char *c = text; spec && *c; c++)
    if (family_word_at(spec, c, out, out_size)) return;
}

/* ---- one task ---- */

typedef struct {
  char *instruction, *input, *answer;
} TestExample;

typedef struct {
  Tokenizer *tokenizer;
  const char *task;
  char **outputs; /* the decoded continuation of each prompt of the batch */
  ByteBuffer text;
  int failed;
  char error[512];
} StopContext;

/* Decodes the row's tokens so far; stops at the first family word. */
static int stop_at_answer(void *context, int prompt, const int32_t *generated, int count) {
  StopContext *c = context;
  c->text.length = 0;
  if (!tokenizer_decode(c->tokenizer, generated, (size_t)count, 1, &c->text, c->error, sizeof c->error)) {
    c->failed = 1;
    return 1;
  }
  byte_buffer_append(&c->text, "", 0);
  free(c->outputs[prompt]);
  c->outputs[prompt] = strdupCheck(c->text.bytes ? c->text.bytes : "");
  char answer[32];
  task_extract_answer(c->task, c->outputs[prompt], answer, sizeof answer);
  return answer[0] != 0;
}

static char *string_member(const JsonValue *object, const char *key) {
  const JsonValue *v = json_object_find(object, key);
  return v && v->kind == JSON_STRING ? strdupCheck(v->string) : NULL;
}

static int read_examples(const char *path, TestExample **examples, int limit) {
  JsonDocument *document = NULL;
  char error[1024];
  if (!json_read_file(path, &document, error, sizeof error)) perft_fatal("%s", error);
  const JsonValue *root = json_document_root(document);
  if (root->kind != JSON_ARRAY) perft_fatal("%s: expected a JSON array of examples, found %s", path, json_kind_name(root->kind));
  int count = (int)root->count;
  if (limit > 0 && count > limit) count = limit;
  *examples = callocCheck((size_t)count + 1, sizeof **examples);
  for (int i = 0; i < count; i++) {
    const JsonValue *item = root->items[i];
    if (item->kind != JSON_OBJECT) perft_fatal("%s:%d:%d: example %d is not an object", path, item->line, item->column, i);
    TestExample *e = &(*examples)[i];
    e->instruction = string_member(item, "instruction");
    e->input = string_member(item, "input");
    e->answer = string_member(item, "answer");
    if (!e->instruction || !e->answer)
      perft_fatal("%s:%d:%d: example %d needs the strings \"instruction\" and \"answer\"", path, item->line,
                  item->column, i);
  }
  json_document_destroy(document);
  return count;
}

int task_count(void) { return NUM_TASKS; }
const char *task_name(int task) { return TASKS[task].name; }
const char *task_label(int task) { return TASKS[task].label; }

TaskScore task_evaluate(Generator *g, Tokenizer *tokenizer, int task, const char *path, const RunOptions *options,
                        FILE *results, int *first_example) {
  const TaskSpec *spec = &TASKS[task];
  TestExample *examples;
  int count = read_examples(path, &examples, options->task_limit);
  int batch = (int)g->rows, max_new = options->max_new_tokens;
  int32_t pad = 0, eos = -1;
  for (size_t id = 0; id < tokenizer->id_count; id++)
    if (tokenizer->id_texts[id] && tokenizer->id_text_lengths[id] == 13 && !memcmp(tokenizer->id_texts[id], "<|endoftext|>", 13))
      eos = (int32_t)id;
  if (eos >= 0) pad = eos;
  TokenIds *prompts = callocCheck((size_t)batch, sizeof *prompts);
  int32_t **generated = callocCheck((size_t)batch, sizeof *generated);
  for (int b = 0; b < batch; b++) generated[b] = callocCheck((size_t)max_new + 1, sizeof(int32_t));
  int *counts = callocCheck((size_t)batch, sizeof(int));
  const int32_t **prompt_ids = callocCheck((size_t)batch, sizeof *prompt_ids);
  size_t *prompt_lengths = callocCheck((size_t)batch, sizeof(size_t));
  StopContext stop = {.tokenizer = tokenizer, .task = spec->name, .outputs = callocCheck((size_t)batch, sizeof(char *))};
  ByteBuffer text = {0};
  TaskScore score = {0, count};
  char error[512];
  for (int start = 0; start < count; start += batch) {
    int n = count - start < batch ? count - start : batch;
    for (int b = 0; b < n; b++) {
      const TestExample *e = &examples[start + b];
      PromptFields fields = {e->instruction, strlen(e->instruction), e->input ? e->input : "",
                             e->input ? strlen(e->input) : 0, "the correct answer is", 21};
      text.length = 0;
      prompt_append(&fields, 1, &text);
      prompts[b].count = 0;
      if (!tokenizer_encode(tokenizer, text.bytes, text.length, 1, &prompts[b], error, sizeof error))
        perft_fatal("%s: example %d: %s", path, start + b, error);
      prompt_ids[b] = prompts[b].ids;
      prompt_lengths[b] = prompts[b].count;
      free(stop.outputs[b]);
      stop.outputs[b] = strdupCheck("");
    }
    generate_greedy(g, prompt_ids, prompt_lengths, n, max_new, pad, eos, stop_at_answer, &stop, generated, counts);
    if (stop.failed) perft_fatal("%s: decoding a generated token: %s", path, stop.error);
    for (int b = 0; b < n; b++) {
      const TestExample *e = &examples[start + b];
      char prediction[32];
      task_extract_answer(spec->name, stop.outputs[b], prediction, sizeof prediction);
      int right = strcmp(prediction, e->answer) == 0;
      score.correct += right;
      if (results) {
        fprintf(results, "%s\n    {\"task\": ", *first_example ? "" : ",");
        *first_example = 0;
        json_write_string(results, spec->name);
        fprintf(results, ", \"index\": %d, \"answer\": ", start + b);
        json_write_string(results, e->answer);
        fputs(", \"prediction\": ", results);
        json_write_string(results, prediction);
        fputs(", \"output\": ", results);
        json_write_string(results, stop.outputs[b]);
        fprintf(results, ", \"correct\": %s}", right ? "true" : "false");
      }
    }
  }
  for (int b = 0; b < batch; b++) {
    token_ids_free(&prompts[b]);
    free(generated[b]);
    free(stop.outputs[b]);
  }
  for (int i = 0; i < count; i++) free(examples[i].instruction), free(examples[i].input), free(examples[i].answer);
  free(examples);
  free(prompts), free(generated), free(counts), free(prompt_ids), free(prompt_lengths), free(stop.outputs);
  byte_buffer_free(&text);
  byte_buffer_free(&stop.text);
  return score;
}

