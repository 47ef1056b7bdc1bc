/* fuse_softmax_top_k.c — the perft-fuse-softmax-top-k pass: a router's softmax and top-k as one kernel.
 *
 *   %p = "perft.softmax"(%logits)                                    [T, E]
 *   ...
 *   %w, %idx = "perft.top_k"(%p) {k = 2, renormalize = false}        [T, k]
 * ->
 *   %p, %w, %idx = "perft.softmax_top_k"(%logits) {k = 2, renormalize = false}
 * The fused kernel takes each row's probabilities and chooses among them while the row is in
 * cache: one pass over the rows, one kernel instead of two (it matters most where every kernel
 * is a launch: the CUDA target). p stays a result: the load-balance loss and softmax_grad read it.
 * The fused op sits where the softmax was (the top-k only ever reads p), and computes each row
 * with the same ops as the two kernels, so the numbers do not change (tests/e2e/fusion_on_off.sh).
 */
#include "passes.h"
#include "external_pass.h"
#include "op_table.h"


/* top_k(softmax(x)) -> softmax_top_k(x); 1 when fused */
static int fuse_top_k(MlirOperation top_k) {
  MlirValue p = mlirOperationGetOperand(top_k, 0);
  if (!mlirValueIsAOpResult(p)) return 0;
  MlirOperation softmax = mlirOpResultGetOwner(p);
  if (!op_is_kind(softmax, OP_SOFTMAX) ||
      !mlirBlockEqual(mlirOperationGetBlock(softmax), mlirOperationGetBlock(top_k)))
    return 0;
  Builder b = builder_before(softmax, mlirOperationGetLocation(top_k));
  MlirValue x = mlirOperationGetOperand(softmax, 0);
  MlirType types[3] = {mlirValueGetType(p), mlirValueGetType(mlirOperationGetResult(top_k, 0)),
                       mlirValueGetType(mlirOperationGetResult(top_k, 1))};
  MlirOperation fused = op_build_like(&b, OP_SOFTMAX_TOP_K, &x, types, top_k);
  mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(top_k, 0), mlirOperationGetResult(fused, 1));
  mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(top_k, 1), mlirOperationGetResult(fused, 2));
  mlirOperationDestroy(top_k);
  mlirValueReplaceAllUsesOfWith(p, mlirOperationGetResult(fused, 0));
  mlirOperationDestroy(softmax);
  return 1;
}

static void fuse_run(MlirOperation module, MlirExternalPass pass, void *options) {
  op_fuse_each(module, OP_TOP_K, fuse_top_k);
}

MlirPass perft_create_fuse_softmax_top_k_pass(void) {
  return perft_module_pass("PerftFuseSoftmaxTopK", "perft-fuse-softmax-top-k",
                           "a router's softmax and top-k as one kernel", fuse_run, NULL, 0);
}
