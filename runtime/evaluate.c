/* evaluate.c: held-out evaluation, during training and as --eval-only.
 *
 * One evaluation = M batches (--eval-batches) from the evaluation split, drawn from the
 * RNG_STREAM_EVAL stream re-seeded each time (so every evaluation of a run sees the same batches),
 * each run through perft_forward with seed 0 (no dropout):
 *   loss      mean over batches of the program's loss
 *   accuracy  mean over every label of (argmax of its logits row == label)   (with `classify`)
 */
#include "evaluate.h"
#include "launch.h"

#include <math.h>
#include <stdio.h>

#include "check.h"
#include "identity.h"
#include "program.h"

EvalResult evaluate(const Manifest *manifest, const DataPlan *plan, Arena *arena, uint64_t seed,
                    int batches) {
  Rng rng;
  rng_seed(&rng, seed, RNG_STREAM_EVAL);
  double loss_sum = 0.0;
  int64_t correct = 0, labelled = 0;
  int first_non_finite_batch = -1;
  for (int batch = 0; batch < batches; batch++) {
    data_fill(plan, manifest, arena, &rng, SPLIT_EVAL);
    arena_forward(arena);
    loss_sum += *arena->loss;
    if (!isfinite(*arena->loss) && first_non_finite_batch < 0) first_non_finite_batch = batch;
    if (!manifest->has_classify) continue;
    const TensorSpec *logits_spec = &manifest->outputs[manifest->classify_output];
    const float *logits = arena->outputs[manifest->classify_output]; /* (rows, V) */
    arena_to_host(arena, arena->outputs[manifest->classify_output], (size_t)logits_spec->num_elements * sizeof(float));
    const int32_t *labels = arena->inputs[manifest->classify_input];   /* (rows) */
    int64_t classes = logits_spec->dims[logits_spec->num_dims - 1];
    int64_t rows = logits_spec->num_elements / classes;
    for (int64_t r = 0; r < rows; r++) {
      if (labels[r] < 0) continue; /* outside the loss (−100): not counted */
      const float *row = logits + r * classes;
      int64_t best = 0;
      for (int64_t c = 1; c < classes; c++)
        if (row[c] > row[best]) best = c;
      correct += best == labels[r];
      labelled++;
    }
  }
  EvalResult result;
  result.loss = loss_sum / batches;
  result.has_accuracy = manifest->has_classify;
  result.accuracy = labelled ? (double)correct / (double)labelled : NAN;
  result.first_non_finite_batch = first_non_finite_batch;
  return result;
}

void eval_report(const EvalResult *result, int step, const MetricsFile *metrics) {
  if (result->has_accuracy)
    printf("eval step %d  loss %.6g  acc %.4f\n", step, result->loss, result->accuracy);
  else printf("eval step %d  loss %.6g\n", step, result->loss);
  fflush(stdout);
  char loss_text[32], accuracy_text[32];
  format_json_number(loss_text, sizeof loss_text, result->loss);
  format_json_number(accuracy_text, sizeof accuracy_text, result->has_accuracy ? result->accuracy : NAN);
  metrics_append(metrics, "{\"eval\":true,\"step\":%d,\"loss\":%s,\"acc\":%s}\n", step, loss_text,
                 accuracy_text);
}

int run_eval_only(const Manifest *manifest, const RunOptions *options) {
  DataPlan plan;
  Arena arena;
  MetricsFile metrics = metrics_open(options->metrics_path); /* checked before any work */
  program_start(manifest, options, ARENA_EVALUATION, &plan, &arena);
  ProgramIdentity identity;
  identity_compute(perft_manifest, manifest, &arena, &identity);
  identity_check_weights(options, &identity);
  EvalResult result = evaluate(manifest, &plan, &arena, options->seed, options->eval_batches);
  eval_report(&result, 0, &metrics);
  metrics_close(&metrics);
  data_plan_destroy(&plan);
  if (result.first_non_finite_batch >= 0)
    perft_fatal("evaluation: batch %d's loss is not finite (%g) (hint: check the weights for NaN or Inf)",
                result.first_non_finite_batch + 1, result.loss);
  arena_destroy(&arena);
  return 0;
}
