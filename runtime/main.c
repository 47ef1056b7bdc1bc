/* main.c: the training executable's command line (docs/ABI.md).
 *
 *   prog [--steps N] [--lr X] [--warmup N] [--weight-decay X] [--clip X] [--seed N]
 *        [--weights W.safetensors ...] [--init] [--metrics FILE.jsonl] [--save A.safetensors]
 *        [--save-all ALL.safetensors] [--save-every N] [--task affine:A:B | add:C]
 *        [--eval-every N] [--eval-batches M]
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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data.h"
#include "program.h"

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
         "  --init                 initialise parameters from the manifest rules (default); with\n"
         "                         --weights, those the files lack (named on stdout)\n"
         "  --metrics FILE         append one JSON line per step\n"
         "  --save FILE            write trainable tensors at the end (atomically)\n"
         "  --save-all FILE        write every parameter, frozen and trainable, at the end\n"
         "  --save-every N         also write them every N steps (needs --save or --save-all)\n"
         "  --task T               token task: affine:A:B (label = (A a + B) mod V) or add:C\n"
         "                         (label = (a + b + C) mod V); default affine:1:0\n"
         "  --eval-every N         evaluate every N steps, 0 = only at the end (default 0)\n"
         "  --eval-batches M       held-out batches per evaluation (default 8)\n"
         "  --help                 this text\n",
         program_name, program_name, program_name, program_name);
}

static int parse_int(const char *option, const char *text, long minimum) {
  errno = 0;
  char *end;
  long value = strtol(text, &end, 10);
  if (errno || !*text || *end || value < minimum || value > 1000000000L)
    usage_error("%s expects an integer >= %ld, got '%s'", option, minimum, text);
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

enum { SEEN_TRAINING_ONLY = 1 };

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
  int saw_init = 0;
  const char *training_only = NULL; /* first training-only option seen, for --dump errors */
  const char *update_only = NULL;   /* first option that only makes sense when training */

  for (int a = 1; a < argc; a++) {
    char option[64];
    const char *argument = argv[a];
    const char *value = NULL;
    if (strncmp(argument, "--", 2) != 0) usage_error("unexpected argument '%s'", argument);
    const char *equals = strchr(argument, '=');
    size_t name_length = equals ? (size_t)(equals - argument) : strlen(argument);
    if (name_length >= sizeof option) usage_error("unknown option '%s'", argument);
    memcpy(option, argument, name_length);
    option[name_length] = '\0';

    static const char *const flags[] = {"--help", "--init", "--list-params", "--eval-only"};
    static const char *const valued[] = {"--steps", "--lr", "--warmup", "--weight-decay",
                                         "--clip", "--seed", "--weights", "--metrics", "--save",
                                         "--save-every", "--dump", "--inputs", "--save-all",
                                         "--task", "--eval-every", "--eval-batches"};
    int known = 0, takes_value = 0;
    for (size_t k = 0; k < sizeof flags / sizeof *flags; k++) known |= !strcmp(option, flags[k]);
    for (size_t k = 0; k < sizeof valued / sizeof *valued; k++)
      if (!strcmp(option, valued[k])) known = takes_value = 1;
    if (!known) usage_error("unknown option '%s'", option);
    if (takes_value) {
      if (equals) value = equals + 1;
      else if (a + 1 < argc) value = argv[++a];
      else usage_error("%s needs a value", option);
    } else if (equals) {
      usage_error("%s takes no value", option);
    }

    if (strcmp(option, "--help") == 0) {
      print_help();
      return 0;
    } else if (strcmp(option, "--steps") == 0) {
      options.steps = parse_int(option, value, 1);
      training_only = training_only ? training_only : "--steps";
      update_only = update_only ? update_only : "--steps";
    } else if (strcmp(option, "--lr") == 0) {
      options.learning_rate = parse_nonnegative(option, value);
      training_only = training_only ? training_only : "--lr";
      update_only = update_only ? update_only : "--lr";
    } else if (strcmp(option, "--warmup") == 0) {
      options.warmup_steps = parse_int(option, value, 0);
      training_only = training_only ? training_only : "--warmup";
      update_only = update_only ? update_only : "--warmup";
    } else if (strcmp(option, "--weight-decay") == 0) {
      options.weight_decay = parse_nonnegative(option, value);
      training_only = training_only ? training_only : "--weight-decay";
      update_only = update_only ? update_only : "--weight-decay";
    } else if (strcmp(option, "--clip") == 0) {
      options.clip = parse_nonnegative(option, value);
      training_only = training_only ? training_only : "--clip";
      update_only = update_only ? update_only : "--clip";
    } else if (strcmp(option, "--seed") == 0) {
      options.seed = parse_seed(value);
    } else if (strcmp(option, "--weights") == 0) {
      if (!*value) usage_error("--weights needs a file name");
      if (options.num_weights == MAX_WEIGHTS_FILES)
        usage_error("at most %d --weights files", MAX_WEIGHTS_FILES);
      options.weights_paths[options.num_weights++] = value;
    } else if (strcmp(option, "--init") == 0) {
      saw_init = 1;
    } else if (strcmp(option, "--metrics") == 0) {
      if (!*value) usage_error("--metrics needs a file name");
      options.metrics_path = value;
      training_only = training_only ? training_only : "--metrics";
    } else if (strcmp(option, "--save") == 0) {
      if (!*value) usage_error("--save needs a file name");
      options.save_path = value;
      training_only = training_only ? training_only : "--save";
      update_only = update_only ? update_only : "--save";
    } else if (strcmp(option, "--save-every") == 0) {
      options.save_every = parse_int(option, value, 1);
      training_only = training_only ? training_only : "--save-every";
      update_only = update_only ? update_only : "--save-every";
    } else if (strcmp(option, "--save-all") == 0) {
      if (!*value) usage_error("--save-all needs a file name");
      options.save_all_path = value;
      training_only = training_only ? training_only : "--save-all";
      update_only = update_only ? update_only : "--save-all";
    } else if (strcmp(option, "--task") == 0) {
      char error[256];
      TokenTask task;
      if (!token_task_parse(value, &task, error, sizeof error)) usage_error("%s", error);
      options.task = value;
      training_only = training_only ? training_only : "--task";
    } else if (strcmp(option, "--eval-every") == 0) {
      options.eval_every = parse_int(option, value, 0);
      training_only = training_only ? training_only : "--eval-every";
      update_only = update_only ? update_only : "--eval-every";
    } else if (strcmp(option, "--eval-batches") == 0) {
      options.eval_batches = parse_int(option, value, 1);
      training_only = training_only ? training_only : "--eval-batches";
    } else if (strcmp(option, "--eval-only") == 0) {
      options.eval_only = 1;
      training_only = training_only ? training_only : "--eval-only";
    } else if (strcmp(option, "--list-params") == 0) {
      options.list_params = 1;
    } else if (strcmp(option, "--dump") == 0) {
      if (!*value) usage_error("--dump needs a file name");
      options.dump_path = value;
    } else if (strcmp(option, "--inputs") == 0) {
      if (!*value) usage_error("--inputs needs a file name");
      options.inputs_path = value;
    } else {
      usage_error("unknown option '%s'", option);
    }
  }

  options.init_missing = saw_init && options.num_weights > 0;
  if (options.list_params && argc != 2) usage_error("--list-params takes no other options");
  if (options.dump_path) {
    if (training_only) usage_error("%s is a training option, not used with --dump", training_only);
    if (!options.inputs_path) usage_error("--dump needs --inputs X.safetensors");
  } else if (options.inputs_path) {
    usage_error("--inputs is only used with --dump");
  }
  if (options.eval_only && update_only)
    usage_error("%s is a training option, not used with --eval-only", update_only);
  if (options.save_every && !options.save_path && !options.save_all_path)
    usage_error("--save-every needs --save FILE or --save-all FILE");

  Manifest manifest;
  char error[1024];
  if (!manifest_parse(perft_manifest, &manifest, error, sizeof error))
    perft_fatal("the program's manifest is invalid: %s (rebuild it with a matching perftc)", error);

  int status;
  if (options.list_params) {
    for (int p = 0; p < manifest.num_params; p++)
      printf("%s %s %s\n", manifest.params[p].tensor.name, manifest.params[p].tensor.dims_text,
             manifest.params[p].trainable ? "trainable" : manifest.params[p].constant ? "constant" : "frozen");
    for (int i = 0; i < manifest.num_inputs; i++)
      printf("input %s %s\n", manifest.inputs[i].name, manifest.inputs[i].dims_text);
    status = 0;
  } else if (options.dump_path) {
    status = run_dump(&manifest, &options);
  } else if (options.eval_only) {
    status = run_eval_only(&manifest, &options);
  } else {
    status = run_training(&manifest, &options);
  }
  manifest_destroy(&manifest);
  if (fflush(stdout) != 0) perft_fatal("cannot write to standard output");
  return status;
}
