/* prune_dead.c — erase computations whose results nobody reads.
 *
 * Before:
 *   %p = "perft.softmax"(%logits)
 *   %w, %i = "perft.top_k"(%p) {k = 2}
 *   %rows, %perm, %offsets = "perft.dispatch"(%h, %i)     (its results unused: a strategy
 *   %y = "perft.combine"(%ys, %perm, %w)                    replaced the block's output)
 *   return %loss
 * After:
 *   return %loss            (and everything only they fed, transitively)
 *
 * Strategies that replace a block's output (PERFT-E) leave the block's own
 * computation behind in the graph; this pass removes it before autodiff, and
 * after autodiff removes forward values the backward does not need. Every op
 * perft emits on tensors is free of side effects, so an op with no used result
 * can go. Runs on every func.func in the module; ops are visited in reverse so
 * one sweep removes whole dead chains.
 */
#include "passes.h"

#include "external_pass.h"

#include "ir_builder.h"

#include <stdlib.h>

static int has_uses(MlirOperation op) {
  for (intptr_t i = 0; i < mlirOperationGetNumResults(op); i++)
    if (!mlirOpOperandIsNull(mlirValueGetFirstUse(mlirOperationGetResult(op, i)))) return 1;
  return 0;
}

static int prune_function(MlirOperation func) {
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(func, 0));
  if (mlirBlockIsNull(body)) return 0;
  size_t n = 0;
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op)) n++;
  MlirOperation *ops = malloc((n + 1) * sizeof(MlirOperation));
  IR_CHECK(ops != NULL, "out of memory");
  size_t k = 0;
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op)) ops[k++] = op;
  int erased = 0;
  for (size_t i = n; i-- > 0;) { /* users come after their operands: reverse order frees whole chains */
    if (mlirOperationGetNumResults(ops[i]) > 0 && !has_uses(ops[i])) {
      mlirOperationDestroy(ops[i]);
      erased++;
    }
  }
  free(ops);
  return erased;
}

static void prune_run(MlirOperation module, MlirExternalPass pass, void *options) {
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(module, 0));
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op))
    if (op_is(op, "func.func")) prune_function(op);
}

MlirPass perft_create_prune_dead_pass(void) {
  return perft_module_pass("PerftPruneDead", "perft-prune-dead", "erase side-effect-free ops whose results are unused",
                           prune_run, NULL, 0);
}
