/* train.c: the training loop.
 *
 * Start-up (all allocation happens here): arena, parameters, teacher, optimizer state, metrics
 * file, checkpoint writer. Then per step, with no allocation:
 *   data      data.c: teacher targets, a token task, or N(0, 1); then the step's nonzero seed
 *   step      perft_train_step(buffers): loss, outputs, grads
 *   update    global-norm clip, AdamW on trainable params, lr from the schedule
 *   report    one line on stdout, one JSON line in --metrics, checkpoint every --save-every
 *   evaluate  every --eval-every steps and always at the end (evaluate.c)
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
#include "launch.h"
#include "data.h"
#include "evaluate.h"
#include "optimizer.h"
#include "program.h"
#include "rng.h"
#include "safetensors.h"

#define MAX_LISTED_TENSORS 40

static double seconds_now(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

static void format_bytes(size_t bytes, char *out, size_t out_size) {
  if (bytes < 10 * 1024) snprintf(out, out_size, "%zu B", bytes);
  else if (bytes < 10 * 1024 * 1024) snprintf(out, out_size, "%zu B (%.1f KiB)", bytes, bytes / 1024.0);
  else snprintf(out, out_size, "%zu B (%.1f MiB)", bytes, bytes / (1024.0 * 1024.0));
}

static void print_configuration(const Manifest *manifest, const Arena *arena,
                                const RunOptions *options, const DataPlan *plan) {
  int64_t trainable, frozen, adapter, base;
  manifest_count_params(manifest, &trainable, &frozen);
  manifest_count_adapter_params(manifest, &adapter, &base);
  int64_t total = trainable + frozen;
  double trainable_percent = total ? 100.0 * trainable / total : 0.0;
  char workspace[64], arena_bytes[64];
  format_bytes((size_t)manifest->workspace_bytes, workspace, sizeof workspace);
  format_bytes(arena->bytes, arena_bytes, sizeof arena_bytes);

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
  printf("  arena         %s, one allocation\n", arena_bytes);
  printf("  steps         %d (warm-up %d, then linear decay to 0)\n", options->steps,
         options->warmup_steps);
  printf("  optimizer     AdamW lr %g, betas 0.9/0.999, eps 1e-8, weight decay %g, clip %g%s\n",
         options->learning_rate, options->weight_decay, options->clip,
         options->clip > 0 ? "" : " (off)");
  printf("  seed          %llu\n", (unsigned long long)options->seed);
  /* The generated code runs its big GEMMs on OpenMP threads (docs/ABI.md). */
  const char *threads = getenv("OMP_NUM_THREADS");
  printf("  threads       %s (big GEMMs on OpenMP threads; set OMP_NUM_THREADS to change)\n",
         threads ? threads : "all cores");
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
  fflush(stdout);
}

int run_training(const Manifest *manifest, const RunOptions *options) {
  /* ---- start-up: every allocation happens here ---- */
  DataPlan plan;
  Arena arena;
  program_start(manifest, options, ARENA_TRAINING, &plan, &arena);

  OptimizerConfig optimizer;
  optimizer_config_defaults(&optimizer);
  optimizer.learning_rate = options->learning_rate;
  optimizer.warmup_steps = options->warmup_steps;
  optimizer.total_steps = options->steps;
  optimizer.weight_decay = options->weight_decay;
  optimizer.clip = options->clip;

  MetricsFile metrics = metrics_open(options->metrics_path);

  /* --save: the trainable tensors in grad order; --save-all: every param in manifest order. */
  SafetensorsWriter checkpoint, checkpoint_all;
  int saving = options->save_path != NULL, saving_all = options->save_all_path != NULL;
  SafetensorsTensor *tensors = callocCheck((size_t)manifest->num_params + 1, sizeof *tensors);
  if (saving) {
    for (int g = 0; g < manifest->num_grads; g++) {
      int p = manifest->grad_param_index[g];
      tensors[g] = (SafetensorsTensor){manifest->params[p].tensor.name,
                                       manifest->params[p].tensor.num_dims,
                                       manifest->params[p].tensor.dims, arena.params[p],
                                       ELEMENT_F32};
    }
    safetensors_writer_create(&checkpoint, options->save_path, tensors, manifest->num_grads);
  }
  if (saving_all) { /* constants are the program's, not the checkpoint's */
    int n = 0;
    for (int p = 0; p < manifest->num_params; p++)
      if (!manifest->params[p].constant)
        tensors[n++] = (SafetensorsTensor){manifest->params[p].tensor.name,
                                           manifest->params[p].tensor.num_dims,
                                           manifest->params[p].tensor.dims, arena.params[p],
                                           ELEMENT_F32};
    safetensors_writer_create(&checkpoint_all, options->save_all_path, tensors, n);
  }
  free(tensors);

  print_configuration(manifest, &arena, options, &plan);

  Rng data_rng;
  rng_seed(&data_rng, options->seed, RNG_STREAM_DATA);
  int step_digits = snprintf(NULL, 0, "%d", options->steps);
  double first_loss = NAN, last_loss = NAN, total_seconds = 0.0;
  char error[1024];

  /* ---- the loop: no allocation from here on ---- */
  for (int step = 1; step <= options->steps; step++) {
    double start = seconds_now();

    data_fill(&plan, manifest, &arena, &data_rng, SPLIT_TRAIN);
    data_set_seed(manifest, &arena, training_step_seed(options->seed, step));

    launch_train_step(arena.buffers);
    double loss = *arena.loss;
    double grad_norm = global_grad_norm(arena.grads, arena.grad_elements, manifest->num_grads);
    if (!isfinite(loss) || !isfinite(grad_norm))
      perft_fatal("step %d: loss %g, gradient norm %g: training diverged (hint: a lower --lr, or "
                  "--clip)", step, loss, grad_norm);
    double grad_scale = optimizer.clip > 0 && grad_norm > optimizer.clip
                            ? optimizer.clip / grad_norm : 1.0;
    double learning_rate = learning_rate_at(&optimizer, step);
    for (int g = 0; g < manifest->num_grads; g++)
      adamw_update(&optimizer, arena.params[manifest->grad_param_index[g]], arena.grads[g],
                   arena.adam_m[g], arena.adam_v[g], arena.grad_elements[g], learning_rate,
                   grad_scale, step);

    double seconds = seconds_now() - start;
    total_seconds += seconds;
    double tokens_per_second = seconds > 0 ? (double)manifest->tokens / seconds : 0.0;
    if (step == 1) first_loss = loss;
    last_loss = loss;
    printf("step %*d/%d  loss %.6g  gnorm %.4g  lr %.3e  ms %.3f  tok/s %.0f\n", step_digits, step,
           options->steps, loss, grad_norm, learning_rate, seconds * 1e3, tokens_per_second);
    fflush(stdout);

    if (metrics.fd >= 0) {
      char loss_text[32], norm_text[32];
      format_json_number(loss_text, sizeof loss_text, loss);
      format_json_number(norm_text, sizeof norm_text, grad_norm);
      metrics_append(&metrics,
                     "{\"step\":%d,\"steps\":%d,\"loss\":%s,\"gnorm\":%s,\"lr\":%.9g,\"ms\":%.6f,\"tok_s\":%.3f}\n",
                     step, options->steps, loss_text, norm_text, learning_rate, seconds * 1e3, tokens_per_second);
    }
    if (options->save_every && step % options->save_every == 0 && step != options->steps) {
      if (saving && !safetensors_writer_write(&checkpoint, error, sizeof error))
        perft_fatal("checkpoint at step %d: %s", step, error);
      if (saving_all && !safetensors_writer_write(&checkpoint_all, error, sizeof error))
        perft_fatal("checkpoint at step %d: %s", step, error);
    }
    if (options->eval_every && step % options->eval_every == 0 && step != options->steps) {
      EvalResult result = evaluate(manifest, &plan, &arena, options->seed, options->eval_batches);
      eval_report(&result, step, &metrics);
    }
  }

  /* ---- end ---- */
  EvalResult final = evaluate(manifest, &plan, &arena, options->seed, options->eval_batches);
  eval_report(&final, options->steps, &metrics);
  if (saving) {
    if (!safetensors_writer_write(&checkpoint, error, sizeof error)) perft_fatal("%s", error);
    safetensors_writer_destroy(&checkpoint);
  }
  if (saving_all) {
    if (!safetensors_writer_write(&checkpoint_all, error, sizeof error)) perft_fatal("%s", error);
    safetensors_writer_destroy(&checkpoint_all);
  }
  metrics_close(&metrics);
  char accuracy[48] = "";
  if (final.has_accuracy) snprintf(accuracy, sizeof accuracy, " acc %.4f", final.accuracy);
  printf("done: %d steps in %.3f s (%.3f ms/step), loss %.6g -> %.6g (%.3g%% of the first), "
         "eval loss %.6g%s%s%s%s%s\n",
         options->steps, total_seconds, 1e3 * total_seconds / options->steps, first_loss,
         last_loss, first_loss != 0 ? 100.0 * last_loss / first_loss : 0.0, final.loss, accuracy,
         saving ? ", saved " : "", saving ? options->save_path : "",
         saving_all ? ", saved all " : "", saving_all ? options->save_all_path : "");
  arena_destroy(&arena);
  return 0;
}
