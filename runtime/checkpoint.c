/* checkpoint.c: checkpoints for exact resume; see checkpoint.h. */
#include "checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "outputs.h"

#define STEP_FORMAT "step-%09d.safetensors"

/* ---------------------------------------------------------------------------------------------
 * Fixed-width text for the metadata that changes at every checkpoint (rewritten in place). */

static void format_double_bits(char out[17], double value) {
  uint64_t bits;
  memcpy(&bits, &value, sizeof bits);
  snprintf(out, 17, "%016" PRIx64, bits);
}

static int parse_hex64(const char *text, uint64_t *value) {
  if (!text || strlen(text) != 16) return 0;
  char *end;
  errno = 0;
  *value = strtoull(text, &end, 16);
  return !errno && *end == '\0';
}

static int parse_double_bits(const char *text, double *value) {
  uint64_t bits;
  if (!parse_hex64(text, &bits)) return 0;
  memcpy(value, &bits, sizeof bits);
  return 1;
}

/* The Rng as 4 x 16 hex digits, the spare flag, then the spare normal's bits: 81 characters. */
static void format_rng(char out[82], const Rng *rng) {
  char spare[17];
  format_double_bits(spare, rng->spare);
  snprintf(out, 82, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%d%s", rng->state[0],
           rng->state[1], rng->state[2], rng->state[3], rng->has_spare ? 1 : 0, spare);
}

static int parse_rng(const char *text, Rng *rng) {
  if (!text || strlen(text) != 81 || (text[64] != '0' && text[64] != '1')) return 0;
  char word[17];
  for (int i = 0; i < 4; i++) {
    memcpy(word, text + 16 * i, 16);
    word[16] = '\0';
    if (!parse_hex64(word, &rng->state[i])) return 0;
  }
  rng->has_spare = text[64] == '1';
  return parse_double_bits(text + 65, &rng->spare);
}

/* ---------------------------------------------------------------------------------------------
 * Writing */

static void set_state_metadata(Checkpointer *checkpointer, const TrainingState *state) {
  char text[96];
  SafetensorsWriter *writer = &checkpointer->writer;
  snprintf(text, sizeof text, "%010d", state->step);
  safetensors_writer_set_metadata(writer, "perft.step", text);
  format_rng(text, &state->data_rng);
  safetensors_writer_set_metadata(writer, "perft.rng", text);
  format_double_bits(text, state->first_loss);
  safetensors_writer_set_metadata(writer, "perft.first_loss", text);
  format_double_bits(text, state->last_loss);
  safetensors_writer_set_metadata(writer, "perft.last_loss", text);
  format_double_bits(text, state->best_eval_loss);
  safetensors_writer_set_metadata(writer, "perft.best_eval", text);
  snprintf(text, sizeof text, "%010d", state->best_eval_step);
  safetensors_writer_set_metadata(writer, "perft.best_eval_step", text);
  format_double_bits(text, state->train_seconds);
  safetensors_writer_set_metadata(writer, "perft.seconds", text);
  snprintf(text, sizeof text, "%020" PRIu64, state->metrics_bytes);
  safetensors_writer_set_metadata(writer, "perft.metrics_bytes", text);
}

/* The options a resumed run must share, as text (see checkpoint_adopt_options). */
typedef struct {
  char steps[16], lr[32], warmup[16], weight_decay[32], clip[32], seed[24], eval_every[16],
      eval_batches[16], save_every[16], checkpoint_every[16], keep[16], init[4];
  char *weights; /* paths joined by '\n' */
} OptionsText;

static void options_text(const RunOptions *options, OptionsText *text) {
  snprintf(text->steps, sizeof text->steps, "%d", options->steps);
  snprintf(text->lr, sizeof text->lr, "%.17g", options->learning_rate);
  snprintf(text->warmup, sizeof text->warmup, "%d", options->warmup_steps);
  snprintf(text->weight_decay, sizeof text->weight_decay, "%.17g", options->weight_decay);
  snprintf(text->clip, sizeof text->clip, "%.17g", options->clip);
  snprintf(text->seed, sizeof text->seed, "%" PRIu64, options->seed);
  snprintf(text->eval_every, sizeof text->eval_every, "%d", options->eval_every);
  snprintf(text->eval_batches, sizeof text->eval_batches, "%d", options->eval_batches);
  snprintf(text->save_every, sizeof text->save_every, "%d", options->save_every);
  snprintf(text->checkpoint_every, sizeof text->checkpoint_every, "%d", options->checkpoint_every);
  snprintf(text->keep, sizeof text->keep, "%d", options->keep);
  snprintf(text->init, sizeof text->init, "%d", options->init_missing);
  size_t bytes = 1;
  for (int w = 0; w < options->num_weights; w++) bytes += strlen(options->weights_paths[w]) + 1;
  text->weights = callocCheck(bytes, 1);
  for (int w = 0; w < options->num_weights; w++) {
    if (w) strcat(text->weights, "\n");
    strcat(text->weights, options->weights_paths[w]);
  }
}

/* Calls visit(step, is_temp, name) for each step-N.safetensors file in directory, and for each temp
 * file step-N.safetensors.tmp.PID that a killed run may have left. */
static void for_each_checkpoint(const char *directory_path, void (*visit)(int, int, const char *, void *),
                                void *context) {
  DIR *directory = opendir(directory_path);
  if (!directory) return;
  struct dirent *entry;
  while ((entry = readdir(directory))) {
    int step, length = 0;
    if (sscanf(entry->d_name, "step-%9d.safetensors%n", &step, &length) != 1 || length == 0) continue;
    const char *rest = entry->d_name + length;
    if (*rest == '\0') visit(step, 0, entry->d_name, context);
    else if (strncmp(rest, ".tmp.", 5) == 0) visit(step, 1, entry->d_name, context);
  }
  closedir(directory);
}

typedef struct {
  const Checkpointer *checkpointer;
  int newest_kept[64]; /* the newest --keep steps, descending (--keep is at most 64) */
} Pruning;

static void rank_checkpoint(int step, int is_temp, const char *name, void *context) {
  Pruning *pruning = context;
  int keep = pruning->checkpointer->keep;
  if (is_temp) return;
  for (int i = 0; i < keep; i++) {
    if (step <= pruning->newest_kept[i]) continue;
    memmove(&pruning->newest_kept[i + 1], &pruning->newest_kept[i], (size_t)(keep - 1 - i) * sizeof(int));
    pruning->newest_kept[i] = step;
    return;
  }
}

static void remove_old_checkpoint(int step, int is_temp, const char *name, void *context) {
  Pruning *pruning = context;
  int keep = pruning->checkpointer->keep;
  if (!is_temp && step >= pruning->newest_kept[keep - 1]) return;
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", pruning->checkpointer->directory, name);
  unlink(path);
}

/* Removes checkpoints beyond the newest --keep, and temp files that a killed run left. */
static void prune(const Checkpointer *checkpointer) {
  Pruning pruning = {checkpointer, {0}};
  for (int i = 0; i < 64; i++) pruning.newest_kept[i] = -1;
  for_each_checkpoint(checkpointer->directory, rank_checkpoint, &pruning);
  for_each_checkpoint(checkpointer->directory, remove_old_checkpoint, &pruning);
}

void checkpointer_create(Checkpointer *checkpointer, const RunOptions *options, const Manifest *manifest,
                         const Arena *arena, const ProgramIdentity *identity) {
  memset(checkpointer, 0, sizeof *checkpointer);
  checkpointer->directory = strdupCheck(options->checkpoint_dir);
  checkpointer->every = options->checkpoint_every;
  checkpointer->keep = options->keep;
  checkpointer->path_size = strlen(options->checkpoint_dir) + 64;
  checkpointer->path = mallocCheck(checkpointer->path_size);
  checkpointer->temp_path = mallocCheck(checkpointer->path_size);

  int grads = manifest->num_grads;
  SafetensorsTensor *tensors = callocCheck((size_t)3 * grads + 1, sizeof *tensors);
  checkpointer->names = callocCheck((size_t)2 * grads + 1, sizeof(char *));
  checkpointer->num_names = 2 * grads;
  for (int g = 0; g < grads; g++) {
    int p = manifest->grad_param_index[g];
    const TensorSpec *spec = &manifest->params[p].tensor;
    size_t size = strlen(spec->name) + 8;
    checkpointer->names[2 * g] = mallocCheck(size);
    checkpointer->names[2 * g + 1] = mallocCheck(size);
    snprintf(checkpointer->names[2 * g], size, "adam_m.%s", spec->name);
    snprintf(checkpointer->names[2 * g + 1], size, "adam_v.%s", spec->name);
    tensors[g] = (SafetensorsTensor){spec->name, spec->num_dims, spec->dims, arena->params[p], ELEMENT_F32};
    tensors[grads + 2 * g] = (SafetensorsTensor){checkpointer->names[2 * g], spec->num_dims, spec->dims,
                                                 arena->adam_m[g], ELEMENT_F32};
    tensors[grads + 2 * g + 1] = (SafetensorsTensor){checkpointer->names[2 * g + 1], spec->num_dims,
                                                     spec->dims, arena->adam_v[g], ELEMENT_F32};
  }
  OptionsText text;
  options_text(options, &text);
  char zero16[17] = "0000000000000000", rng_text[82], step_text[11] = "0000000000";
  Rng zero_rng = {{0, 0, 0, 0}, 0, 0.0};
  format_rng(rng_text, &zero_rng);
  const SafetensorsMetadata metadata[] = {
      {"perft.kind", "checkpoint"}, {"perft.program", identity->program},
      {"perft.strategy", identity->strategy}, {"perft.base", identity->base},
      {"perft.step", step_text}, {"perft.rng", rng_text}, {"perft.first_loss", zero16}, {"perft.last_loss", zero16},
      {"perft.best_eval", zero16}, {"perft.best_eval_step", step_text}, {"perft.seconds", zero16},
      {"perft.metrics_bytes", "00000000000000000000"},
      {"perft.opt.steps", text.steps}, {"perft.opt.lr", text.lr}, {"perft.opt.warmup", text.warmup},
      {"perft.opt.weight_decay", text.weight_decay}, {"perft.opt.clip", text.clip},
      {"perft.opt.seed", text.seed}, {"perft.opt.task", options->task ? options->task : ""},
      {"perft.opt.eval_every", text.eval_every}, {"perft.opt.eval_batches", text.eval_batches},
      {"perft.opt.weights", text.weights}, {"perft.opt.init", text.init},
      {"perft.opt.metrics", options->metrics_path ? options->metrics_path : ""},
      {"perft.opt.data", options->data_path ? options->data_path : ""},
      {"perft.opt.base", options->base_dir ? options->base_dir : ""},
      {"perft.opt.save", options->save_path ? options->save_path : ""},
      {"perft.opt.save_all", options->save_all_path ? options->save_all_path : ""},
      {"perft.opt.save_every", text.save_every}, {"perft.opt.checkpoint_every", text.checkpoint_every},
      {"perft.opt.keep", text.keep}};
  safetensors_writer_create_with_metadata(&checkpointer->writer, "", tensors, 3 * grads, metadata,
                                          (int)(sizeof metadata / sizeof *metadata));
  free(text.weights);
  free(tensors);
  prune(checkpointer); /* a run killed between a checkpoint and its pruning left one too many */
}

void checkpoint_directory_prepare(const RunOptions *options) {
  output_directory_prepare("--checkpoint-dir", options->checkpoint_dir);
  char found[4096];
  if (!options->resume_dir && checkpoint_find_latest(options->checkpoint_dir, found, sizeof found))
    perft_fatal("--checkpoint-dir '%s' already holds checkpoints (%s) (hint: --resume %s to continue "
                "that run, or an empty directory for a new one)",
                options->checkpoint_dir, found, options->checkpoint_dir);
}

int checkpointer_due(const Checkpointer *checkpointer, int step, int steps) {
  return checkpointer->directory && (step % checkpointer->every == 0 || step == steps);
}

void checkpointer_write(Checkpointer *checkpointer, const TrainingState *state) {
  set_state_metadata(checkpointer, state);
  snprintf(checkpointer->path, checkpointer->path_size, "%s/" STEP_FORMAT, checkpointer->directory, state->step);
  snprintf(checkpointer->temp_path, checkpointer->path_size, "%s.tmp.%ld", checkpointer->path, (long)getpid());
  char error[1024];
  if (!safetensors_writer_write_as(&checkpointer->writer, checkpointer->path, checkpointer->temp_path, error,
                                   sizeof error))
    perft_fatal("checkpoint at step %d: %s", state->step, error);
  prune(checkpointer);
}

void checkpointer_destroy(Checkpointer *checkpointer) {
  if (!checkpointer->directory) return;
  safetensors_writer_destroy(&checkpointer->writer);
  for (int n = 0; n < checkpointer->num_names; n++) free(checkpointer->names[n]);
  free(checkpointer->names);
  free(checkpointer->directory);
  free(checkpointer->path);
  free(checkpointer->temp_path);
  memset(checkpointer, 0, sizeof *checkpointer);
}

/* ---------------------------------------------------------------------------------------------
 * Resuming */

static void note_newest(int step, int is_temp, const char *name, void *context) {
  int *newest = context;
  if (!is_temp && step > *newest) *newest = step;
}

int checkpoint_find_latest(const char *directory_path, char *path, size_t path_size) {
  int newest = -1;
  for_each_checkpoint(directory_path, note_newest, &newest);
  if (newest < 0) return 0;
  snprintf(path, path_size, "%s/" STEP_FORMAT, directory_path, newest);
  return 1;
}

static const char *required_metadata(const SafetensorsFile *checkpoint, const char *key) {
  const char *value = safetensors_metadata(checkpoint, key);
  if (!value)
    perft_fatal("%s: not a perft checkpoint: no '%s' in its metadata", checkpoint->path, key);
  return value;
}

/* The checkpoint's value of option `key` (text); when the command line gave the option with another
 * value (`mine`, as text), an error: a resumed run keeps the options that shape its numbers. */
static const char *checked_option(const SafetensorsFile *checkpoint, const RunOptions *options, unsigned bit,
                                  const char *option, const char *key, const char *mine) {
  const char *theirs = required_metadata(checkpoint, key);
  if ((options->given & bit) && strcmp(mine ? mine : "", theirs) != 0)
    perft_fatal("%s %s differs from the run being resumed (%s in %s) (hint: a resumed run keeps its "
                "options; start a new --checkpoint-dir to change them)",
                option, mine ? mine : "(default)", theirs[0] ? theirs : "the default", checkpoint->path);
  return theirs;
}

static void adopt_int(const SafetensorsFile *checkpoint, const RunOptions *options, unsigned bit,
                      const char *option, const char *key, int *value) {
  char mine[32];
  snprintf(mine, sizeof mine, "%d", *value);
  *value = atoi(checked_option(checkpoint, options, bit, option, key, mine));
}

static void adopt_double(const SafetensorsFile *checkpoint, const RunOptions *options, unsigned bit,
                         const char *option, const char *key, double *value) {
  double theirs = strtod(required_metadata(checkpoint, key), NULL);
  if ((options->given & bit) && theirs != *value)
    perft_fatal("%s %g differs from the run being resumed (%g in %s) (hint: a resumed run keeps its "
                "options; start a new --checkpoint-dir to change them)", option, *value, theirs, checkpoint->path);
  *value = theirs;
}

/* A copy of text that lives as long as the options (freed by checkpoint_free_adopted). */
static char *keep_string(RunOptions *options, const char *text, size_t length) {
  assertCheck(options->num_adopted < (int)(sizeof options->adopted / sizeof *options->adopted));
  char *copy = mallocCheck(length + 1);
  memcpy(copy, text, length);
  copy[length] = '\0';
  return options->adopted[options->num_adopted++] = copy;
}

/* Paths may differ from the first run's (files move); when not given they are the first run's. */
static void adopt_path(const SafetensorsFile *checkpoint, RunOptions *options, unsigned bit, const char *key,
                       const char **path) {
  const char *theirs = required_metadata(checkpoint, key);
  if (!(options->given & bit)) *path = theirs[0] ? keep_string(options, theirs, strlen(theirs)) : NULL;
}

void checkpoint_adopt_options(const SafetensorsFile *checkpoint, RunOptions *options) {
  if (strcmp(required_metadata(checkpoint, "perft.kind"), "checkpoint") != 0)
    perft_fatal("%s: not a perft checkpoint (perft.kind is '%s')", checkpoint->path,
                safetensors_metadata(checkpoint, "perft.kind"));
  adopt_int(checkpoint, options, OPTION_STEPS, "--steps", "perft.opt.steps", &options->steps);
  adopt_double(checkpoint, options, OPTION_LR, "--lr", "perft.opt.lr", &options->learning_rate);
  adopt_int(checkpoint, options, OPTION_WARMUP, "--warmup", "perft.opt.warmup", &options->warmup_steps);
  adopt_double(checkpoint, options, OPTION_WEIGHT_DECAY, "--weight-decay", "perft.opt.weight_decay",
               &options->weight_decay);
  adopt_double(checkpoint, options, OPTION_CLIP, "--clip", "perft.opt.clip", &options->clip);
  char seed[24];
  snprintf(seed, sizeof seed, "%" PRIu64, options->seed);
  options->seed = strtoull(checked_option(checkpoint, options, OPTION_SEED, "--seed", "perft.opt.seed", seed), NULL, 10);
  const char *task = checked_option(checkpoint, options, OPTION_TASK, "--task", "perft.opt.task", options->task);
  if (!(options->given & OPTION_TASK)) options->task = task[0] ? keep_string(options, task, strlen(task)) : NULL;
  adopt_int(checkpoint, options, OPTION_EVAL_EVERY, "--eval-every", "perft.opt.eval_every", &options->eval_every);
  adopt_int(checkpoint, options, OPTION_EVAL_BATCHES, "--eval-batches", "perft.opt.eval_batches",
            &options->eval_batches);
  adopt_int(checkpoint, options, OPTION_INIT, "--init", "perft.opt.init", &options->init_missing);
  adopt_int(checkpoint, options, OPTION_SAVE_EVERY, "--save-every", "perft.opt.save_every", &options->save_every);
  /* where and how often checkpoints go does not change the numbers: given values win */
  if (!(options->given & OPTION_CHECKPOINT_EVERY))
    options->checkpoint_every = atoi(required_metadata(checkpoint, "perft.opt.checkpoint_every"));
  if (!(options->given & OPTION_KEEP)) options->keep = atoi(required_metadata(checkpoint, "perft.opt.keep"));
  if (options->checkpoint_every < 1 || options->keep < 1 || options->keep > 64)
    perft_fatal("%s: perft.opt.checkpoint_every or perft.opt.keep is out of range", checkpoint->path);
  adopt_path(checkpoint, options, OPTION_METRICS, "perft.opt.metrics", &options->metrics_path);
  adopt_path(checkpoint, options, OPTION_DATA, "perft.opt.data", &options->data_path);
  adopt_path(checkpoint, options, OPTION_BASE, "perft.opt.base", &options->base_dir);
  adopt_path(checkpoint, options, OPTION_SAVE, "perft.opt.save", &options->save_path);
  adopt_path(checkpoint, options, OPTION_SAVE_ALL, "perft.opt.save_all", &options->save_all_path);
  if (!(options->given & OPTION_WEIGHTS)) { /* the base is checked by its identity after loading */
    const char *weights = required_metadata(checkpoint, "perft.opt.weights");
    options->num_weights = 0;
    for (const char *cursor = weights; *cursor && options->num_weights < MAX_WEIGHTS_FILES;) {
      const char *end = strchr(cursor, '\n');
      size_t length = end ? (size_t)(end - cursor) : strlen(cursor);
      options->weights_paths[options->num_weights++] = keep_string(options, cursor, length);
      cursor += length + (end != NULL);
    }
  }
}

void checkpoint_free_adopted(RunOptions *options) {
  for (int i = 0; i < options->num_adopted; i++) free(options->adopted[i]);
  options->num_adopted = 0;
}

void checkpoint_restore(const SafetensorsFile *checkpoint, const Manifest *manifest, Arena *arena,
                        const ProgramIdentity *identity, TrainingState *state) {
  const char *program = required_metadata(checkpoint, "perft.program");
  const char *strategy = required_metadata(checkpoint, "perft.strategy");
  const char *base = required_metadata(checkpoint, "perft.base");
  if (strcmp(program, identity->program) != 0)
    perft_fatal("%s is a checkpoint of another program (program %s, strategy %s); this one is program %s, "
                "strategy %s (hint: resume with the executable that wrote it)",
                checkpoint->path, program, strategy, identity->program, identity->strategy);
  if (strcmp(base, identity->base) != 0)
    perft_fatal("%s was trained on other base weights (base %s); this run's frozen weights are base %s "
                "(hint: resume with the --weights and --seed of the first run)",
                checkpoint->path, base, identity->base);
  char *problems = callocCheck(16384, 1);
  int num_problems = 0;
  for (int g = 0; g < manifest->num_grads; g++) {
    int p = manifest->grad_param_index[g];
    const TensorSpec *spec = &manifest->params[p].tensor;
    char name[512];
    num_problems += !safetensors_read_tensor(checkpoint, spec->name, spec, arena->params[p], problems, 16384);
    snprintf(name, sizeof name, "adam_m.%s", spec->name);
    num_problems += !safetensors_read_tensor(checkpoint, name, spec, arena->adam_m[g], problems, 16384);
    snprintf(name, sizeof name, "adam_v.%s", spec->name);
    num_problems += !safetensors_read_tensor(checkpoint, name, spec, arena->adam_v[g], problems, 16384);
  }
  if (num_problems) perft_fatal("checkpoint %s: %d tensors missing or mismatched: %s", checkpoint->path,
                                num_problems, problems);
  free(problems);
  char *end;
  const char *step = required_metadata(checkpoint, "perft.step");
  state->step = (int)strtol(step, &end, 10);
  const char *best_step = required_metadata(checkpoint, "perft.best_eval_step");
  state->best_eval_step = (int)strtol(best_step, NULL, 10);
  state->metrics_bytes = strtoull(required_metadata(checkpoint, "perft.metrics_bytes"), NULL, 10);
  if (*end || state->step < 0 ||
      !parse_rng(required_metadata(checkpoint, "perft.rng"), &state->data_rng) ||
      !parse_double_bits(required_metadata(checkpoint, "perft.first_loss"), &state->first_loss) ||
      !parse_double_bits(required_metadata(checkpoint, "perft.last_loss"), &state->last_loss) ||
      !parse_double_bits(required_metadata(checkpoint, "perft.best_eval"), &state->best_eval_loss) ||
      !parse_double_bits(required_metadata(checkpoint, "perft.seconds"), &state->train_seconds))
    perft_fatal("%s: the training state in its metadata is malformed", checkpoint->path);
}
