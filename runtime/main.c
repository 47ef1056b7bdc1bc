/* main.c: the training executable's command line (docs/ABI.md).
 *
 *   prog [--steps N] [--lr X] [--warmup N] [--weight-decay X] [--clip X] [--seed N]
 *        [--weights W.safetensors ...] [--init] [--metrics FILE.jsonl] [--save A.safetensors]
 *        [--save-all ALL.safetensors] [--save-every N] [--task affine:A:B | add:C]
 *        [--eval-every N] [--eval-batches M]
 *        [--checkpoint-dir DIR [--checkpoint-every N] [--keep K]] [--resume DIR]
 *   prog --eval-only [--weights W.safetensors ...] [--init] [--seed N] [--task T]
 *        [--eval-batches M] [--metrics FILE.jsonl]
 *   prog --list-params
 *   prog --dump OUT.safetensors [--weights W.safetensors ...] [--init] --inputs X.safetensors
 *        [--seed N]
 *   prog --help
 * Options take their value as the next argument or after '=' (--steps=10).
 * A bad command line prints one line and exits 2; a bad file or manifest exits 1.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data.h"
#include "program.h"
#include "export.h"
#include "tasks.h"

static const char *program_name = "prog";

static void usage_error(const char *format, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void usage_error(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fputs("perft: error: ", stderr);
  vfprintf(stderr, format, args);
  fprintf(stderr, " (see %s --help)\n", program_name);
  va_end(args);
  exit(2);
}

static void print_help(void) {
  printf("usage: %s [training options]          train (default)\n"
         "       %s --list-params                list parameters and inputs\n"
         "       %s --eval-only [--weights W ...] [--init] [--seed N] [--task T] [--eval-batches M]\n"
         "                                        evaluate on held-out batches only\n"
         "       %s --evaluate-tasks DIR --tokenizer TOKENIZER.json [--base DIR] [--weights W ...]\n"
         "          [--max-new-tokens 32] [--task-limit N] [--results FILE.json]\n"
         "                                        accuracy on the commonsense tasks in DIR/<task>/test.json\n"
         "                                        (greedy generation, answers matched as the PERFT code does)\n"
         "       %s --export-perft DIR | --export-peft DIR --weights ADAPTERS.safetensors [--base DIR]\n"
         "                                        the adapters under the official PERFT code's module names\n"
         "                                        (+ its config.json) or in Hugging Face PEFT's LoRA layout\n"
         "       %s --dump OUT.safetensors --inputs X.safetensors [--weights W.safetensors | "
         "--init] [--seed N]\n"
         "                                        one forward+backward, write loss, out.*, grad.*\n"
         "\n"
         "training options:\n"
         "  --steps N              optimizer steps (default 300)\n"
         "  --lr X                 peak learning rate (default 3e-3)\n"
         "  --warmup N             linear warm-up steps, then linear decay to 0 (default 20)\n"
         "  --weight-decay X       AdamW decoupled weight decay (default 0)\n"
         "  --clip X               global gradient-norm clip, 0 = off (default 1.0)\n"
         "  --seed N               seed for init, teacher and data (default 1)\n"
         "  --weights W            load parameters from a safetensors file (frozen ones required;\n"
         "                         repeatable, a later file overrides an earlier one)\n"
         "  --base DIR             load the frozen weights (and any trainable ones it holds) from a\n"
         "                         Hugging Face checkpoint folder: model.safetensors.index.json and\n"
         "                         its shards, or model.safetensors; F32, BF16 or F16, under the\n"
         "                         program's `names hf` names; --weights files override it\n"
         "  --init                 initialise parameters from the manifest rules (default); with\n"
         "                         --weights, those the files lack (named on stdout)\n"
         "  --metrics FILE         append one JSON line per step\n"
         "  --save FILE            write trainable tensors at the end (atomically)\n"
         "  --save-all FILE        write every parameter, frozen and trainable, at the end\n"
         "  --save-every N         also write them every N steps (needs --save or --save-all)\n"
         "  --task T               token task: affine:A:B (label = (A a + B) mod V) or add:C\n"
         "                         (label = (a + b + C) mod V); default affine:1:0\n"
         "  --data FILE            a token file from perft-data: each step takes rows of it as the\n"
         "                         tokens and labels (every 20th row held out for evaluation)\n"
         "  --eval-every N         evaluate every N steps, 0 = only at the end (default 0)\n"
         "  --eval-batches M       held-out batches per evaluation (default 8)\n"
         "  --checkpoint-dir DIR   write checkpoints for exact resume into DIR: adapters, AdamW\n"
         "                         moments, step, data position, options (checkpoint.h)\n"
         "  --checkpoint-every N   a checkpoint every N steps and at the last (default 100)\n"
         "  --keep K               keep the newest K checkpoints (default 3, at most 64)\n"
         "  --resume DIR           continue the run whose checkpoints are in DIR: the loss sequence\n"
         "                         is the one the run would have had without stopping; options not\n"
         "                         given are the run's own\n"
         "  --help                 this text\n",
         program_name, program_name, program_name, program_name, program_name, program_name);
}

static int parse_int(const char *option, const char *text, long minimum, long maximum) {
  errno = 0;
  char *end;
  long value = strtol(text, &end, 10);
  if (errno || !*text || *end || value < minimum || value > maximum) {
    if (maximum < 1000000000L)
      usage_error("%s expects an integer from %ld to %ld, got '%s'", option, minimum, maximum, text);
    usage_error("%s expects an integer >= %ld, got '%s'", option, minimum, text);
  }
  return (int)value;
}

static double parse_nonnegative(const char *option, const char *text) {
  errno = 0;
  char *end;
  double value = strtod(text, &end);
  if (errno || !*text || *end || !isfinite(value) || value < 0)
    usage_error("%s expects a number >= 0, got '%s'", option, text);
  return value;
}

static uint64_t parse_seed(const char *text) {
  errno = 0;
  char *end;
  if (!*text || *text == '-' || *text == '+')
    usage_error("--seed expects a non-negative integer, got '%s'", text);
  unsigned long long value = strtoull(text, &end, 10);
  if (errno || *end) usage_error("--seed expects a non-negative integer, got '%s'", text);
  return (uint64_t)value;
}

/* What an option's value is, and which modes use it. */
typedef enum { VALUE_FLAG, VALUE_INT, VALUE_NUMBER, VALUE_SEED, VALUE_PATH, VALUE_WEIGHTS, VALUE_TASK } ValueKind;
typedef enum {
  ANY_MODE,       /* every mode */
  NOT_WITH_DUMP,  /* training and --eval-only */
  TRAINING_ONLY,  /* training (it changes or saves the parameters) */
} OptionModes;

typedef struct {
  const char *name;
  ValueKind kind;
  long minimum, maximum; /* VALUE_INT */
  unsigned given;        /* OPTION_* bit, 0 for options a checkpoint does not record */
  OptionModes modes;
  size_t field;          /* offsetof(RunOptions, ...) */
} OptionSpec;

#define FIELD(name) offsetof(RunOptions, name)
static const OptionSpec OPTIONS[] = {
    {"--steps", VALUE_INT, 1, 1000000000L, OPTION_STEPS, TRAINING_ONLY, FIELD(steps)},
    {"--lr", VALUE_NUMBER, 0, 0, OPTION_LR, TRAINING_ONLY, FIELD(learning_rate)},
    {"--warmup", VALUE_INT, 0, 1000000000L, OPTION_WARMUP, TRAINING_ONLY, FIELD(warmup_steps)},
    {"--weight-decay", VALUE_NUMBER, 0, 0, OPTION_WEIGHT_DECAY, TRAINING_ONLY, FIELD(weight_decay)},
    {"--clip", VALUE_NUMBER, 0, 0, OPTION_CLIP, TRAINING_ONLY, FIELD(clip)},
    {"--seed", VALUE_SEED, 0, 0, OPTION_SEED, ANY_MODE, FIELD(seed)},
    {"--weights", VALUE_WEIGHTS, 0, 0, OPTION_WEIGHTS, ANY_MODE, FIELD(weights_paths)},
    {"--init", VALUE_FLAG, 0, 0, OPTION_INIT, ANY_MODE, FIELD(init_missing)},
    {"--base", VALUE_PATH, 0, 0, OPTION_BASE, ANY_MODE, FIELD(base_dir)},
    {"--metrics", VALUE_PATH, 0, 0, OPTION_METRICS, NOT_WITH_DUMP, FIELD(metrics_path)},
    {"--save", VALUE_PATH, 0, 0, OPTION_SAVE, TRAINING_ONLY, FIELD(save_path)},
    {"--save-every", VALUE_INT, 1, 1000000000L, OPTION_SAVE_EVERY, TRAINING_ONLY, FIELD(save_every)},
    {"--save-all", VALUE_PATH, 0, 0, OPTION_SAVE_ALL, TRAINING_ONLY, FIELD(save_all_path)},
    {"--task", VALUE_TASK, 0, 0, OPTION_TASK, NOT_WITH_DUMP, FIELD(task)},
    {"--data", VALUE_PATH, 0, 0, OPTION_DATA, NOT_WITH_DUMP, FIELD(data_path)},
    {"--eval-every", VALUE_INT, 0, 1000000000L, OPTION_EVAL_EVERY, TRAINING_ONLY, FIELD(eval_every)},
    {"--eval-batches", VALUE_INT, 1, 1000000000L, OPTION_EVAL_BATCHES, NOT_WITH_DUMP, FIELD(eval_batches)},
    {"--checkpoint-dir", VALUE_PATH, 0, 0, OPTION_CHECKPOINT_DIR, TRAINING_ONLY, FIELD(checkpoint_dir)},
    {"--checkpoint-every", VALUE_INT, 1, 1000000000L, OPTION_CHECKPOINT_EVERY, TRAINING_ONLY,
     FIELD(checkpoint_every)},
    {"--keep", VALUE_INT, 1, 64, OPTION_KEEP, TRAINING_ONLY, FIELD(keep)},
    {"--resume", VALUE_PATH, 0, 0, 0, TRAINING_ONLY, FIELD(resume_dir)},
    {"--eval-only", VALUE_FLAG, 0, 0, 0, NOT_WITH_DUMP, FIELD(eval_only)},
    {"--list-params", VALUE_FLAG, 0, 0, 0, ANY_MODE, FIELD(list_params)},
    {"--dump", VALUE_PATH, 0, 0, 0, ANY_MODE, FIELD(dump_path)},
    {"--inputs", VALUE_PATH, 0, 0, 0, ANY_MODE, FIELD(inputs_path)},
    {"--evaluate-tasks", VALUE_PATH, 0, 0, 0, NOT_WITH_DUMP, FIELD(evaluate_dir)},
    {"--tokenizer", VALUE_PATH, 0, 0, 0, NOT_WITH_DUMP, FIELD(tokenizer_path)},
    {"--results", VALUE_PATH, 0, 0, 0, NOT_WITH_DUMP, FIELD(results_path)},
    {"--max-new-tokens", VALUE_INT, 1, 4096, 0, NOT_WITH_DUMP, FIELD(max_new_tokens)},
    {"--task-limit", VALUE_INT, 0, 1000000000L, 0, NOT_WITH_DUMP, FIELD(task_limit)},
    {"--export-perft", VALUE_PATH, 0, 0, 0, NOT_WITH_DUMP, FIELD(export_perft_dir)},
    {"--export-peft", VALUE_PATH, 0, 0, 0, NOT_WITH_DUMP, FIELD(export_peft_dir)},
};
#undef FIELD

/* Stores one option's value into options. */
static void set_option(const OptionSpec *spec, const char *value, RunOptions *options) {
  char *field = (char *)options + spec->field;
  options->given |= spec->given;
  switch (spec->kind) {
    case VALUE_FLAG: *(int *)field = 1; break;
    case VALUE_INT: *(int *)field = parse_int(spec->name, value, spec->minimum, spec->maximum); break;
    case VALUE_NUMBER: *(double *)field = parse_nonnegative(spec->name, value); break;
    case VALUE_SEED: *(uint64_t *)field = parse_seed(value); break;
    case VALUE_PATH:
      if (!*value) usage_error("%s needs a file or directory name", spec->name);
      *(const char **)field = value;
      break;
    case VALUE_WEIGHTS:
      if (!*value) usage_error("--weights needs a file name");
      if (options->num_weights == MAX_WEIGHTS_FILES) usage_error("at most %d --weights files", MAX_WEIGHTS_FILES);
      options->weights_paths[options->num_weights++] = value;
      break;
    case VALUE_TASK: {
      char error[256];
      TokenTask task;
      if (!token_task_parse(value, &task, error, sizeof error)) usage_error("%s", error);
      options->task = value;
      break;
    }
  }
}

int main(int argc, char **argv) {
  if (argc > 0 && argv[0] && argv[0][0]) {
    const char *slash = strrchr(argv[0], '/');
    program_name = slash ? slash + 1 : argv[0];
  }
  RunOptions options = {0};
  options.steps = 300;
  options.learning_rate = 3e-3;
  options.warmup_steps = 20;
  options.weight_decay = 0.0;
  options.clip = 1.0;
  options.seed = 1;
  options.eval_batches = 8;
  options.checkpoint_every = 100;
  options.keep = 3;
  options.max_new_tokens = 32;
  const char *not_with_dump = NULL; /* the first option --dump does not use, for its error */
  const char *training_only = NULL; /* the first option that only training uses */

  for (int a = 1; a < argc; a++) {
    const char *argument = argv[a];
    if (strncmp(argument, "--", 2) != 0) usage_error("unexpected argument '%s'", argument);
    const char *equals = strchr(argument, '=');
    size_t name_length = equals ? (size_t)(equals - argument) : strlen(argument);
    if (name_length == 6 && !strncmp(argument, "--help", 6) && !equals) {
      print_help();
      return 0;
    }
    const OptionSpec *spec = NULL;
    for (size_t k = 0; k < sizeof OPTIONS / sizeof *OPTIONS; k++)
      if (strlen(OPTIONS[k].name) == name_length && !strncmp(argument, OPTIONS[k].name, name_length))
        spec = &OPTIONS[k];
    if (!spec) usage_error("unknown option '%.*s'", (int)(name_length < 64 ? name_length : 64), argument);
    const char *value = NULL;
    if (spec->kind != VALUE_FLAG) {
      if (equals) value = equals + 1;
      else if (a + 1 < argc) value = argv[++a];
      else usage_error("%s needs a value", spec->name);
    } else if (equals) {
      usage_error("%s takes no value", spec->name);
    }
    set_option(spec, value, &options);
    if (spec->modes != ANY_MODE && !not_with_dump) not_with_dump = spec->name;
    if (spec->modes == TRAINING_ONLY && !training_only) training_only = spec->name;
  }

  options.init_missing = options.init_missing && options.num_weights > 0; /* --init: see --help */
  if (options.list_params && argc != 2) usage_error("--list-params takes no other options");
  if (options.dump_path) {
    if (not_with_dump) usage_error("%s is a training option, not used with --dump", not_with_dump);
    if (!options.inputs_path) usage_error("--dump needs --inputs X.safetensors");
  } else if (options.inputs_path) {
    usage_error("--inputs is only used with --dump");
  }
  if ((options.export_perft_dir || options.export_peft_dir) &&
      (training_only || options.evaluate_dir || options.eval_only || (options.export_perft_dir && options.export_peft_dir)))
    usage_error("--export-perft and --export-peft write a --save file's adapters (with --weights): one of them, alone");
  if (options.evaluate_dir && training_only)
    usage_error("%s is a training option, not used with --evaluate-tasks", training_only);
  if (!options.evaluate_dir && (options.tokenizer_path || options.results_path))
    usage_error("%s is used with --evaluate-tasks DIR", options.tokenizer_path ? "--tokenizer" : "--results");
  if (options.eval_only && training_only)
    usage_error("%s is a training option, not used with --eval-only", training_only);
  if (options.save_every && !options.save_path && !options.save_all_path && !options.resume_dir)
    usage_error("--save-every needs --save FILE or --save-all FILE");
  if ((options.given & (OPTION_CHECKPOINT_EVERY | OPTION_KEEP)) && !options.checkpoint_dir && !options.resume_dir)
    usage_error("%s needs --checkpoint-dir DIR", options.given & OPTION_KEEP ? "--keep" : "--checkpoint-every");

  Manifest manifest;
  char error[1024];
  if (!manifest_parse(perft_manifest, &manifest, error, sizeof error))
    perft_fatal("the program's manifest is invalid: %s (rebuild it with a matching perftc)", error);

  int status;
  if (options.list_params) {
    for (int p = 0; p < manifest.num_params; p++)
      printf("%s %s %s%s\n", manifest.params[p].tensor.name, manifest.params[p].tensor.dims_text,
             manifest.params[p].trainable ? "trainable" : manifest.params[p].constant ? "constant" : "frozen",
             manifest.params[p].tensor.element_type == ELEMENT_BF16 ? " bf16" : "");
    for (int i = 0; i < manifest.num_inputs; i++)
      printf("input %s %s\n", manifest.inputs[i].name, manifest.inputs[i].dims_text);
    status = 0;
  } else if (options.dump_path) {
    status = run_dump(&manifest, &options);
  } else if (options.export_perft_dir || options.export_peft_dir) {
    status = run_export(&manifest, &options);
  } else if (options.evaluate_dir) {
    status = run_evaluate_tasks(&manifest, &options);
  } else if (options.eval_only) {
    status = run_eval_only(&manifest, &options);
  } else {
    status = run_training(&manifest, &options);
  }
  manifest_destroy(&manifest);
  if (fflush(stdout) != 0) perft_fatal("cannot write to standard output");
  return status;
}
