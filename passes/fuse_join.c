/* fuse_join.c — the perft-fuse-join pass (PERFT-E folding): an expert's adapter up-projection
 * joins the expert's W2 GEMM.
 *
 * PERFT-E's route body experts[e](h) + ad[e](h), after perft-fuse-epilogue:
 *   %y1 = "perft.grouped_matmul"(%a, %W2, %offsets) {transpose_w = true}              [R, D]  K = F
 *   %y  = "perft.grouped_matmul_scale_add"(%z, %B, %offsets, %y1) {scale = 2.0}       [R, D]  K = r
 *   %out = "perft.combine"(%y, %perm, %g)                                             [T, D]
 * ->
 *   %out = "perft.grouped_matmul_join_combine"(%a, %W2, %z, %B, %offsets, %perm, %g) {scale = 2.0}
 * One register block computes both dot products of a row and an output column — the longer K of
 * [a, z]·[W2, B]ᵀ, held as two sums so that each is rounded as before — adds them (a·W2ᵀ +
 * 2·z·Bᵀ) and, when the combine is its only reader, weights and adds the result into the token's
 * row. Neither the expert's output y1 nor the sum y is written: two R×D tensors fewer per step.
 * Where the sum is read by something else too (the routing weights' gradient in a training step
 * with input gradients), the join stays without the combine (perft.grouped_matmul_join).
 *
 * Joins only when W2's K (F) is at most 1024, as perft-fuse-route combines (matmul_kernels.c: a
 * block's weights must stay in L1 while the rows pass). The down-projection is not joined with
 * W1/W3: it reads dropout(x), they read x. The numbers do not change (tests/e2e/fusion_on_off.sh).
 */
#include "passes.h"
#include "external_pass.h"
#include "matmul_kernels.h"
#include "op_table.h"

/* grouped_matmul_scale_add(z, B, offsets, grouped_matmul(a, W2, offsets)) -> grouped_matmul_join; 1 when joined */
static int fuse_join(MlirOperation sum) {
  MlirValue y1 = mlirOperationGetOperand(sum, 3), offsets = mlirOperationGetOperand(sum, 2);
  MlirOperation w2 = defining_op(y1);
  if (!op_is_kind(w2, OP_GROUPED_MATMUL) || !op_int_attribute(w2, "transpose_w", 0) || !has_one_reader(y1) ||
      !mlirValueEqual(mlirOperationGetOperand(w2, 2), offsets))
    return 0;
  MlirValue a = mlirOperationGetOperand(w2, 0);
  if (mlirShapedTypeGetDimSize(mlirValueGetType(a), 1) > WHOLE_SUM_MAX_K) return 0; /* matmul_kernels.h */
  MlirValue operands[5] = {a, mlirOperationGetOperand(w2, 1), mlirOperationGetOperand(sum, 0),
                           mlirOperationGetOperand(sum, 1), offsets};
  MlirValue y = mlirOperationGetResult(sum, 0);
  MlirType type = mlirValueGetType(y);
  Builder b = builder_before(sum, mlirOperationGetLocation(sum));
  MlirOperation join = op_build_like(&b, OP_GROUPED_MATMUL_JOIN, operands, &type, sum);
  mlirValueReplaceAllUsesOfWith(y, mlirOperationGetResult(join, 0));
  mlirOperationDestroy(sum);
  mlirOperationDestroy(w2);
  return 1;
}

/* combine(grouped_matmul_join(...), perm, w) -> grouped_matmul_join_combine; 1 when fused */
static int fuse_combine(MlirOperation combine) {
  MlirValue y = mlirOperationGetOperand(combine, 0);
  MlirOperation join = defining_op(y);
  if (!op_is_kind(join, OP_GROUPED_MATMUL_JOIN) || !has_one_reader(y)) return 0;
  MlirValue operands[7];
  for (int i = 0; i < 5; i++) operands[i] = mlirOperationGetOperand(join, i);
  operands[5] = mlirOperationGetOperand(combine, 1);
  operands[6] = mlirOperationGetOperand(combine, 2);
  MlirValue out = mlirOperationGetResult(combine, 0);
  MlirType type = mlirValueGetType(out);
  Builder b = builder_before(combine, mlirOperationGetLocation(combine));
  MlirOperation fused = op_build_like(&b, OP_GROUPED_MATMUL_JOIN_COMBINE, operands, &type, join);
  mlirValueReplaceAllUsesOfWith(out, mlirOperationGetResult(fused, 0));
  mlirOperationDestroy(combine);
  mlirOperationDestroy(join);
  return 1;
}

static void fuse_run(MlirOperation module, MlirExternalPass pass, void *options) {
  op_fuse_each(module, OP_GROUPED_MATMUL_SCALE_ADD, fuse_join);
  op_fuse_each(module, OP_COMBINE, fuse_combine);
}

MlirPass perft_create_fuse_join_pass(void) {
  return perft_module_pass("PerftFuseJoin", "perft-fuse-join",
                           "PERFT-E folding: an expert's adapter up-projection joins its W2 GEMM", fuse_run, NULL, 0);
}
