/* train.c: the training loop.
 *
 * Start-up (all allocation happens here): with --resume, the newest checkpoint and the options it
 * records; every output path checked (outputs.h); arena, parameters, teacher, optimizer state,
 * metrics file, save and checkpoint writers. Then per step, with no allocation:
 *   data      data.c: teacher targets, a token task, or N(0, 1); then the step's nonzero seed
 *   step      perft_train_step(buffers): loss, outputs, grads
 *   check     a non-finite loss or gradient stops the run, naming the step and the first
 *             non-finite tensor; nothing is saved over the last good checkpoint
 *   update    global-norm clip, AdamW on trainable params, lr from the schedule: optimizer.c on the
 *             host, or with a GPU target the object's generated perft_grad_norm and perft_adamw
 *             where the gradients are (manifest `optimizer device LANES`)
 *   report    progress.h on stdout, one JSON line in --metrics
 *   evaluate  every --eval-every steps and always at the end (evaluate.c)
 *   save      --save/--save-all every --save-every steps, a checkpoint every --checkpoint-every
 * At the end: the saves and a summary (steps, tokens, time, losses, where the files are).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "checkpoint.h"
#include "identity.h"
#include "outputs.h"
#include "progress.h"
#include "launch.h"
#include "data.h"
#include "evaluate.h"
#include "optimizer.h"
#include "program.h"
#include "rng.h"
#include "safetensors.h"

#define MAX_LISTED_TENSORS 40

static void print_configuration(const Manifest *manifest, const Arena *arena,
                                const RunOptions *options, const DataPlan *plan) {
  int64_t trainable, frozen, adapter, base;
  manifest_count_params(manifest, &trainable, &frozen);
  manifest_count_adapter_params(manifest, &adapter, &base);
  int64_t total = trainable + frozen;
  double trainable_percent = total ? 100.0 * trainable / total : 0.0;
  char workspace[64], arena_bytes[64];
  format_bytes((size_t)manifest->workspace_bytes, workspace, sizeof workspace);
  format_bytes(arena->memory.bytes, arena_bytes, sizeof arena_bytes);

  printf("perft training executable\n");
  printf("  program       manifest v%d, f32, %lld tokens/step\n", manifest->version,
         (long long)manifest->tokens);
  int listed = 0;
  for (int p = 0; p < manifest->num_params; p++, listed++) {
    const ParamSpec *param = &manifest->params[p];
    if (listed == MAX_LISTED_TENSORS) break;
    char init[96];
    if (param->init == INIT_NORMAL)
      snprintf(init, sizeof init, "normal(%g, %g)", param->init_mean, param->init_std);
    else if (param->init == INIT_CONST) snprintf(init, sizeof init, "const(%g)", param->init_mean);
    else if (param->init == INIT_COPY) snprintf(init, sizeof init, "copy(%s[...])", param->copy_source_name);
    else snprintf(init, sizeof init, "%s", param->init == INIT_ZEROS ? "zeros" : param->init == INIT_EYE ? "eye" : "ones");
    printf("    param   %-32s %-16s %-9s %s%s\n", param->tensor.name, param->tensor.dims_text,
           param->trainable ? "trainable" : param->constant ? "constant" : "frozen", init,
           param->adapter ? "  adapter" : "");
  }
  for (int i = 0; i < manifest->num_inputs && listed < MAX_LISTED_TENSORS; i++, listed++) {
    const TensorSpec *input = &manifest->inputs[i];
    char kind[96] = "";
    if (i == manifest->seed_input) snprintf(kind, sizeof kind, "i32 seed");
    else if (input->element_type == ELEMENT_I32 && input->range)
      snprintf(kind, sizeof kind, "i32 range %lld%s", (long long)input->range,
               i == manifest->classify_input ? " (labels)" : "");
    else if (input->element_type == ELEMENT_I32) snprintf(kind, sizeof kind, "i32");
    if (kind[0]) printf("    input   %-32s %-16s %s\n", input->name, input->dims_text, kind);
    else printf("    input   %-32s %s\n", input->name, input->dims_text);
  }
  for (int o = 0; o < manifest->num_outputs && listed < MAX_LISTED_TENSORS; o++, listed++)
    printf("    output  %-32s %s\n", manifest->outputs[o].name, manifest->outputs[o].dims_text);
  int all = manifest->num_params + manifest->num_inputs + manifest->num_outputs;
  if (listed < all) printf("    ... %d more (see --list-params)\n", all - listed);
  printf("  parameters    %lld total: %lld trainable (%.2f%%), %lld frozen (%.2f%%)\n",
         (long long)total, (long long)trainable, trainable_percent, (long long)frozen,
         total ? 100.0 - trainable_percent : 0.0);
  printf("  adapter parameters %lld (%.2f%% of base)\n", (long long)adapter,
         base ? 100.0 * adapter / base : 0.0);
  printf("  workspace     %s\n", workspace);
  if (arena->memory.host == arena->memory.device) printf("  arena         %s, one allocation\n", arena_bytes);
  else { /* a GPU target: device memory, and the host's copy of all but the workspace */
    char host_bytes[64];
    format_bytes(arena->memory.host_bytes, host_bytes, sizeof host_bytes);
    printf("  arena         %s on the device, one allocation; %s mirrored on the host\n", arena_bytes, host_bytes);
  }
  printf("  steps         %d (warm-up %d, then linear decay to 0)\n", options->steps,
         options->warmup_steps);
  printf("  optimizer     AdamW lr %g, betas 0.9/0.999, eps 1e-8, weight decay %g, clip %g%s; %s\n",
         options->learning_rate, options->weight_decay, options->clip,
         options->clip > 0 ? "" : " (off)",
         manifest->optimizer_lanes ? "run by the program's generated kernels" : "run on the host");
  printf("  seed          %llu\n", (unsigned long long)options->seed);
  char compute[320];
  launch_describe(compute, sizeof compute);
  printf("  compute       %s\n", compute);
  if (!options->num_weights) printf("  weights       --init (manifest init rules)\n");
  for (int w = 0; w < options->num_weights; w++)
    printf("  weights       %s%s\n", options->weights_paths[w],
           w ? " (overrides the files before it)" : "");
  char data[512];
  data_describe(plan, manifest, data, sizeof data);
  printf("  data          %s\n", data);
  if (manifest->seed_input >= 0)
    printf("  seed input    %s: fresh nonzero value each step, 0 in evaluation\n",
           manifest->inputs[manifest->seed_input].name);
  if (options->eval_every)
    printf("  evaluation    every %d steps and at the end, %d batches, seed 0%s\n",
           options->eval_every, options->eval_batches, manifest->has_classify ? ", accuracy" : "");
  else
    printf("  evaluation    at the end, %d batches, seed 0%s\n", options->eval_batches,
           manifest->has_classify ? ", accuracy" : "");
  printf("  metrics       %s\n", options->metrics_path ? options->metrics_path : "-");
  if (options->save_path && options->save_every)
    printf("  save          %s (every %d steps and at the end)\n", options->save_path,
           options->save_every);
  else printf("  save          %s\n", options->save_path ? options->save_path : "-");
  if (options->save_all_path)
    printf("  save all      %s (every parameter%s)\n", options->save_all_path,
           options->save_every ? ", every --save-every steps and at the end" : "");
  if (options->checkpoint_dir)
    printf("  checkpoints   %s every %d steps and at the end, keeping the newest %d\n", options->checkpoint_dir,
           options->checkpoint_every, options->keep);
  fflush(stdout);
}

/* The first non-finite tensor in dataflow order (trainable params, f32 inputs, outputs, loss,
 * grads), described as "grad of 'NAME' (3 of 96 elements, the first at index 7)". */
static void first_non_finite(const Manifest *manifest, const Arena *arena, char *out, size_t out_size) {
  arena_all_to_host(arena);
  const float *data = NULL;
  int64_t count = 0;
  for (int stage = 0; stage < 5; stage++) {
    int items = stage == 0 ? manifest->num_params : stage == 1 ? manifest->num_inputs
              : stage == 2 ? manifest->num_outputs : stage == 3 ? 1 : manifest->num_grads;
    for (int i = 0; i < items; i++) {
      const char *kind, *name;
      if (stage == 0) {
        if (!manifest->params[i].trainable) continue;
        kind = "parameter", name = manifest->params[i].tensor.name;
        data = arena->params[i], count = manifest->params[i].tensor.num_elements;
      } else if (stage == 1) {
        if (manifest->inputs[i].element_type != ELEMENT_F32) continue;
        kind = "input", name = manifest->inputs[i].name;
        data = arena->inputs[i], count = manifest->inputs[i].num_elements;
      } else if (stage == 2) {
        kind = "output", name = manifest->outputs[i].name;
        data = arena->outputs[i], count = manifest->outputs[i].num_elements;
      } else if (stage == 3) {
        kind = "the loss", name = NULL, data = arena->loss, count = 1;
      } else {
        kind = "grad of", name = manifest->grads[i].name;
        data = arena->grads[i], count = manifest->grads[i].num_elements;
      }
      int64_t bad = 0, first = -1;
      for (int64_t e = 0; e < count; e++)
        if (!isfinite(data[e])) bad++, first = first < 0 ? e : first;
      if (!bad) continue;
      if (!name) snprintf(out, out_size, "%s (%g)", kind, (double)data[0]);
      else snprintf(out, out_size, "%s '%s' (%lld of %lld elements, the first at index %lld: %g)", kind, name,
                    (long long)bad, (long long)count, (long long)first, (double)data[first]);
      return;
    }
  }
  snprintf(out, out_size, "none left in the buffers");
}

/* Where the last good files are, for the message of a run that stops. */
static void describe_last_good(const RunOptions *options, const TrainingState *state, int last_checkpoint,
                               char *out, size_t out_size) {
  if (options->checkpoint_dir && last_checkpoint > 0)
    snprintf(out, out_size, "the last checkpoint, %s/step-%09d.safetensors, is intact", options->checkpoint_dir,
             last_checkpoint);
  else if (options->save_path || options->save_all_path)
    snprintf(out, out_size, "nothing was saved after step %d", state->step);
  else snprintf(out, out_size, "nothing was saved");
}

typedef struct {
  char *save_path, *save_all_path; /* resolved by output_file_prepare (symlinks followed) */
  SafetensorsWriter save, save_all;
} Saves;

/* --save: the trainable tensors in grad order; --save-all: every param but the constants, in
 * manifest order. Both carry the run's identity. */
static void saves_create(Saves *saves, const Manifest *manifest, const Arena *arena,
                         const ProgramIdentity *identity) {
  SafetensorsTensor *tensors = callocCheck((size_t)manifest->num_params + 1, sizeof *tensors);
  SafetensorsMetadata metadata[] = {{"perft.kind", "adapters"}, {"perft.program", identity->program},
                                    {"perft.strategy", identity->strategy}, {"perft.base", identity->base}};
  int num_metadata = (int)(sizeof metadata / sizeof *metadata);
  if (saves->save_path) {
    for (int g = 0; g < manifest->num_grads; g++) {
      int p = manifest->grad_param_index[g];
      tensors[g] = (SafetensorsTensor){manifest->params[p].tensor.name, manifest->params[p].tensor.num_dims,
                                       manifest->params[p].tensor.dims, arena->params[p], ELEMENT_F32};
    }
    safetensors_writer_create_with_metadata(&saves->save, saves->save_path, tensors, manifest->num_grads,
                                            metadata, num_metadata);
  }
  if (saves->save_all_path) {
    int n = 0; /* the 4-byte tensors first, then the bf16 ones: every tensor's data stays aligned */
    for (int pass = 0; pass < 2; pass++)
      for (int p = 0; p < manifest->num_params; p++) {
        const TensorSpec *t = &manifest->params[p].tensor;
        if (!manifest->params[p].constant && (t->element_type == ELEMENT_BF16) == pass)
          tensors[n++] = (SafetensorsTensor){t->name, t->num_dims, t->dims, arena->params[p], t->element_type};
      }
    metadata[0].value = "all";
    safetensors_writer_create_with_metadata(&saves->save_all, saves->save_all_path, tensors, n, metadata,
                                            num_metadata);
  }
  free(tensors);
}

static void saves_write(Saves *saves, int step) {
  char error[1024];
  if (saves->save_path && !safetensors_writer_write(&saves->save, error, sizeof error))
    perft_fatal("save at step %d: %s", step, error);
  if (saves->save_all_path && !safetensors_writer_write(&saves->save_all, error, sizeof error))
    perft_fatal("save at step %d: %s", step, error);
}

static void saves_destroy(Saves *saves) {
  if (saves->save_path) safetensors_writer_destroy(&saves->save);
  if (saves->save_all_path) safetensors_writer_destroy(&saves->save_all);
  free(saves->save_path);
  free(saves->save_all_path);
}

static void note_evaluation(TrainingState *state, const EvalResult *result, int step) {
  if (result->first_non_finite_batch >= 0)
    perft_fatal("evaluation at step %d: batch %d's loss is not finite (%g): training diverged (hint: a lower "
                "--lr, or --clip)", step, result->first_non_finite_batch + 1, result->loss);
  if (isnan(state->best_eval_loss) || result->loss < state->best_eval_loss) {
    state->best_eval_loss = result->loss;
    state->best_eval_step = step;
  }
}

/* --resume: the newest checkpoint in the directory, and the options it records. */
static int open_resume_checkpoint(RunOptions *options, SafetensorsFile *checkpoint) {
  if (!options->resume_dir) return 0;
  char path[4096], error[1024];
  if (!checkpoint_find_latest(options->resume_dir, path, sizeof path))
    perft_fatal("--resume '%s': no checkpoint there (step-N.safetensors) (hint: the --checkpoint-dir of "
                "the run to continue)", options->resume_dir);
  if (!safetensors_open(path, checkpoint, error, sizeof error)) perft_fatal("%s", error);
  checkpoint_adopt_options(checkpoint, options);
  if (!options->checkpoint_dir) options->checkpoint_dir = options->resume_dir;
  return 1;
}

static void print_summary(const Manifest *manifest, const RunOptions *options, const TrainingState *state,
                          int resumed_at, const EvalResult *final, const char *last_checkpoint) {
  char best[128] = "";
  if (!isnan(state->best_eval_loss))
    snprintf(best, sizeof best, ", best %.6g at step %d", state->best_eval_loss, state->best_eval_step);
  printf("summary\n");
  if (resumed_at > 0) printf("  steps         %d (resumed after step %d)\n", options->steps, resumed_at);
  else printf("  steps         %d\n", options->steps);
  printf("  tokens        %lld (%lld per step)\n", (long long)manifest->tokens * options->steps,
         (long long)manifest->tokens);
  printf("  time          %.3f s in steps (%.3f ms/step)\n", state->train_seconds,
         1e3 * state->train_seconds / options->steps);
  printf("  validation    final %.6g%s\n", final->loss, best);
  if (final->has_accuracy) printf("  accuracy      %.4f\n", final->accuracy);
  printf("  adapters      %s\n", options->save_path ? options->save_path : "- (no --save)");
  if (options->save_all_path) printf("  all params    %s\n", options->save_all_path);
  if (options->checkpoint_dir)
    printf("  checkpoints   %s (newest %s, keeping %d)\n", options->checkpoint_dir, last_checkpoint, options->keep);
  if (options->metrics_path) printf("  metrics       %s\n", options->metrics_path);
}

/* The gradient norm: the generated kernels' partial sums of squares (LANES a gradient), added in
 * order, or optimizer.c's on the host. */
static double gradient_norm(const Manifest *manifest, Arena *arena) {
  if (!manifest->optimizer_lanes) {
    arena_grads_to_host(arena);
    return global_grad_norm(arena->grads, arena->grad_elements, manifest->num_grads);
  }
  launch_call(perft_grad_norm, arena->norm_buffers);
  arena_to_host(arena, arena->norm_partials,
                (size_t)(manifest->num_grads * manifest->optimizer_lanes) * sizeof *arena->norm_partials);
  double sum = 0.0;
  for (int64_t i = 0; i < manifest->num_grads * manifest->optimizer_lanes; i++) sum += arena->norm_partials[i];
  return sqrt(sum);
}

/* One AdamW update of every trainable tensor: the generated kernels with this step's constants, or
 * optimizer.c's on the host. */
static void update(const Manifest *manifest, Arena *arena, const OptimizerConfig *optimizer, double learning_rate,
                   double grad_scale, int step) {
  if (manifest->optimizer_lanes) {
    AdamwConstants constants = adamw_constants(optimizer, learning_rate, grad_scale, step);
    memcpy(arena->adamw_constants, &constants, sizeof constants);
    arena_to_device(arena, arena->adamw_constants, sizeof constants);
    launch_call(perft_adamw, arena->optimizer_buffers);
    return;
  }
  for (int g = 0; g < manifest->num_grads; g++) /* the gradients came back for the norm */
    adamw_update(optimizer, arena->params[manifest->grad_param_index[g]], arena->grads[g], arena->adam_m[g],
                 arena->adam_v[g], arena->grad_elements[g], learning_rate, grad_scale, step);
  arena_trained_to_device(arena);
}

int run_training(const Manifest *manifest, const RunOptions *given_options) {
  /* ---- start-up: every allocation happens here ---- */
  if (manifest->optimizer_lanes && (!perft_grad_norm || !perft_adamw))
    perft_fatal("the manifest asks for the generated optimizer, but the program has no perft_grad_norm and "
                "perft_adamw (a perftc/runtime mismatch: rebuild the program)");
  RunOptions options = *given_options;
  SafetensorsFile checkpoint;
  int resuming = open_resume_checkpoint(&options, &checkpoint);
  if (options.save_every && !options.save_path && !options.save_all_path)
    perft_fatal("--save-every needs --save FILE or --save-all FILE");

  /* every output checked before any work starts */
  Saves saves = {0};
  if (options.save_path) saves.save_path = output_file_prepare("--save", options.save_path);
  if (options.save_all_path) saves.save_all_path = output_file_prepare("--save-all", options.save_all_path);
  if (options.checkpoint_dir) checkpoint_directory_prepare(&options);
  MetricsFile metrics = metrics_open(options.metrics_path);

  DataPlan plan;
  Arena arena;
  program_start(manifest, &options, ARENA_TRAINING, &plan, &arena);
  ProgramIdentity identity;
  identity_compute(perft_manifest, manifest, &arena, &identity);
  identity_check_weights(&options, &identity);

  TrainingState state = {.first_loss = NAN, .last_loss = NAN, .best_eval_loss = NAN};
  rng_seed(&state.data_rng, options.seed, RNG_STREAM_DATA);
  if (resuming) {
    checkpoint_restore(&checkpoint, manifest, &arena, &identity, &state);
    arena_trained_to_device(&arena);
    const char *metrics_then = safetensors_metadata(&checkpoint, "perft.opt.metrics");
    if (options.metrics_path && metrics_then && !strcmp(metrics_then, options.metrics_path))
      metrics_truncate(&metrics, state.metrics_bytes);
    printf("resume: %s, after step %d of %d\n", checkpoint.path, state.step, options.steps);
    safetensors_close(&checkpoint);
  }
  int resumed_at = state.step;

  OptimizerConfig optimizer;
  optimizer_config_defaults(&optimizer);
  optimizer.learning_rate = options.learning_rate;
  optimizer.warmup_steps = options.warmup_steps;
  optimizer.total_steps = options.steps;
  optimizer.weight_decay = options.weight_decay;
  optimizer.clip = options.clip;

  saves_create(&saves, manifest, &arena, &identity);
  Checkpointer checkpointer = {0};
  if (options.checkpoint_dir) checkpointer_create(&checkpointer, &options, manifest, &arena, &identity);
  print_configuration(manifest, &arena, &options, &plan);
  int last_checkpoint = resuming ? state.step : 0;

  /* ---- the loop: no allocation from here on ---- */
  Progress progress;
  progress_start(&progress, state.step + 1, options.steps);
  for (int step = state.step + 1; step <= options.steps; step++) {
    double start = seconds_now();

    data_fill(&plan, manifest, &arena, &state.data_rng, SPLIT_TRAIN);
    data_set_seed(manifest, &arena, training_step_seed(options.seed, step));

    arena_train_step(&arena);
    double loss = *arena.loss;
    double grad_norm = gradient_norm(manifest, &arena);
    if (!isfinite(loss) || !isfinite(grad_norm)) {
      char culprit[512], last_good[512];
      first_non_finite(manifest, &arena, culprit, sizeof culprit);
      describe_last_good(&options, &state, last_checkpoint, last_good, sizeof last_good);
      progress_clear(&progress);
      metrics_append(&metrics, "{\"step\":%d,\"error\":\"non-finite loss or gradient\"}\n", step);
      perft_fatal("step %d: loss %g, gradient norm %g: training diverged; the first non-finite tensor is %s; "
                  "%s (hint: a lower --lr, or --clip)", step, loss, grad_norm, culprit, last_good);
    }
    double grad_scale = optimizer.clip > 0 && grad_norm > optimizer.clip ? optimizer.clip / grad_norm : 1.0;
    double learning_rate = learning_rate_at(&optimizer, step);
    update(manifest, &arena, &optimizer, learning_rate, grad_scale, step);

    double seconds = seconds_now() - start;
    state.train_seconds += seconds;
    state.step = step;
    if (step == 1) state.first_loss = loss;
    state.last_loss = loss;
    double tokens_per_second = seconds > 0 ? (double)manifest->tokens / seconds : 0.0;
    progress_step(&progress, step, loss, grad_norm, learning_rate, seconds, tokens_per_second);
    if (metrics.fd >= 0) {
      char loss_text[32], norm_text[32];
      format_json_number(loss_text, sizeof loss_text, loss);
      format_json_number(norm_text, sizeof norm_text, grad_norm);
      metrics_append(&metrics,
                     "{\"step\":%d,\"steps\":%d,\"loss\":%s,\"gnorm\":%s,\"lr\":%.9g,\"ms\":%.6f,\"tok_s\":%.3f}\n",
                     step, options.steps, loss_text, norm_text, learning_rate, seconds * 1e3, tokens_per_second);
    }
    if (options.eval_every && step % options.eval_every == 0 && step != options.steps) {
      EvalResult result = evaluate(manifest, &plan, &arena, options.seed, options.eval_batches);
      progress_clear(&progress);
      eval_report(&result, step, &metrics);
      note_evaluation(&state, &result, step);
    }
    int save_due = options.save_every && step % options.save_every == 0 && step != options.steps;
    int checkpoint_due = checkpointer_due(&checkpointer, step, options.steps);
    if (save_due || checkpoint_due) arena_trained_to_host(&arena);
    if (save_due) saves_write(&saves, step);
    if (checkpoint_due) {
      state.metrics_bytes = metrics_size(&metrics);
      checkpointer_write(&checkpointer, &state);
      last_checkpoint = step;
    }
  }

  /* ---- end ---- */
  EvalResult final = evaluate(manifest, &plan, &arena, options.seed, options.eval_batches);
  progress_clear(&progress);
  eval_report(&final, options.steps, &metrics);
  note_evaluation(&state, &final, options.steps);
  arena_trained_to_host(&arena);
  saves_write(&saves, options.steps);
  metrics_close(&metrics);
  char newest[64] = "-";
  if (last_checkpoint > 0) snprintf(newest, sizeof newest, "step-%09d.safetensors", last_checkpoint);
  print_summary(manifest, &options, &state, resumed_at, &final, newest);
  char accuracy[48] = "";
  if (final.has_accuracy) snprintf(accuracy, sizeof accuracy, " acc %.4f", final.accuracy);
  printf("done: %d steps in %.3f s (%.3f ms/step), loss %.6g -> %.6g (%.3g%% of the first), "
         "eval loss %.6g%s%s%s%s%s\n",
         options.steps, state.train_seconds, 1e3 * state.train_seconds / options.steps, state.first_loss,
         state.last_loss, state.first_loss != 0 ? 100.0 * state.last_loss / state.first_loss : 0.0, final.loss,
         accuracy, options.save_path ? ", saved " : "", options.save_path ? options.save_path : "",
         options.save_all_path ? ", saved all " : "", options.save_all_path ? options.save_all_path : "");
  saves_destroy(&saves);
  checkpointer_destroy(&checkpointer);
  data_plan_destroy(&plan);
  arena_destroy(&arena);
  checkpoint_free_adopted(&options);
  return 0;
}
