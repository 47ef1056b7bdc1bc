/* evaluate.h: loss and accuracy on held-out batches (perft_forward, seed 0). */
#ifndef PERFT_RUNTIME_EVALUATE_H
#define PERFT_RUNTIME_EVALUATE_H

#include <stdint.h>

#include "arena.h"
#include "data.h"
#include "manifest.h"
#include "metrics.h"

typedef struct {
  double loss;       /* mean of the batch losses */
  double accuracy;   /* fraction of labels whose logits row has its argmax at the label */
  int has_accuracy;  /* the program has `classify` */
  int first_non_finite_batch; /* 0-based, or -1: every batch's loss was finite */
} EvalResult;

/* Overwrites inputs, loss and outputs (not params or grads). No allocation. */
EvalResult evaluate(const Manifest *manifest, const DataPlan *plan, Arena *arena, uint64_t seed,
                    int batches);
/* Prints "eval step S  loss L  acc A" (acc only with classify) and, with a metrics file, appends
 * {"eval":true,"step":S,"loss":L,"acc":A} (acc null without classify). */
void eval_report(const EvalResult *result, int step, const MetricsFile *metrics);

#endif
