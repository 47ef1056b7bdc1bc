/* fuse_route.c — the perft-fuse-route pass: routed rows are neither copied out nor written back.
 *
 * Combine into the epilogue of the expert GEMM that feeds it (the GEMM's only reader), through
 * a scale between them if there is one (a LoRA's α/r):
 *   %y = "perft.grouped_matmul"(%rows, %bank, %offsets) {transpose_w = true}    [R, N]
 *   %z = "perft.scale"(%y) {factor = 2.0}                                          (optional)
 *   %out = "perft.combine"(%z, %perm, %w)                                          [T, N]
 * ->
 *   %out = "perft.grouped_matmul_combine"(%rows, %bank, %offsets, %perm, %w) {scale = 2.0}
 * Each sum of a routed row is scaled, weighted and added to its token's row as it leaves the
 * registers: neither the R×N expert output nor its scaled copy is written.
 *
 * Gather into the GEMMs that read dispatched rows (when every reader of the rows is one):
 *   %d:3 = "perft.dispatch"(%x, %idx)                     %r:2 = "perft.route"(%idx)
 *   %a = "perft.grouped_matmul"(%d#0, %bank, %d#2)   ->   %a = "perft.gathered_matmul"(%x, %r#0, %bank, %r#1)
 *   %g = "perft.grouped_matmul_grad_weight"(%dy, %d#0, %d#2)
 *                                                   ->   %g = "perft.gathered_matmul_grad_weight"(%dy, %x, %r#0, %r#1)
 *   %xd = "perft.dropout"(%d#0, %seed)              ->   %xd = "perft.gathered_dropout"(%x, %r#0, %seed)
 * gathered_matmul packs one expert's rows from their tokens' rows of x into a [T, K] scratch
 * panel (used only as far as the expert's row count; hot in cache for that expert's GEMM), the
 * weight gradient reads them through perm, and an adapter's dropout (PERFT-E, PERFT-R) reads its
 * routed rows from their tokens (masked by the routed row's index, as before): the R×D copy
 * (k copies of every token) is never made.
 *
 * Both run between autodiff and bufferization (forward and backward ops alike). Sums, weights
 * and additions happen in the unfused order (matmul_kernels.c), so the numbers do not change:
 * tests/e2e/fusion_on_off.sh.
 */
#include "passes.h"
#include "external_pass.h"
#include "matmul_kernels.h"
#include "op_table.h"


/* op `id` before anchor, with the attributes of `attributes_from` */
static MlirOperation build_like_at(MlirOperation anchor, OpId id, const MlirValue *operands, const MlirType *types,
                                   MlirOperation attributes_from) {
  Builder b = builder_before(anchor, mlirOperationGetLocation(anchor));
  return op_build_like(&b, id, operands, types, attributes_from);
}

static int transposes_w(MlirOperation op) {
  MlirAttribute a = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString("transpose_w"));
  return mlirAttributeIsABool(a) ? mlirBoolAttrGetValue(a) : 0;
}

static void replace(MlirOperation old, MlirOperation new_op) {
  for (intptr_t i = 0; i < mlirOperationGetNumResults(old); i++)
    mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(old, i), mlirOperationGetResult(new_op, i));
  mlirOperationDestroy(old);
}

/* combine([scale](grouped_matmul(rows, bank, offsets)), perm, w) -> grouped_matmul_combine; 1 when fused */
static int fuse_combine(MlirOperation combine) {
  MlirValue y = mlirOperationGetOperand(combine, 0);
  MlirOperation scale = null_operation(), gemm = defining_op(y);
  AttributeValue factor = {.f = 1.0};
  if (op_is_kind(gemm, OP_SCALE) && has_one_reader(y)) { /* see through the scale */
    scale = gemm;
    factor.f = op_float_attribute(scale, "factor", 1.0);
    y = mlirOperationGetOperand(scale, 0);
    gemm = defining_op(y);
  }
  if (!op_is_kind(gemm, OP_GROUPED_MATMUL) || !transposes_w(gemm) || !has_one_reader(y)) return 0;
  MlirType bank = mlirValueGetType(mlirOperationGetOperand(gemm, 1)); /* [E, N, K] */
  if (mlirShapedTypeGetDimSize(bank, 2) > WHOLE_SUM_MAX_K) return 0; /* matmul_kernels.h */
  MlirValue operands[5] = {mlirOperationGetOperand(gemm, 0), mlirOperationGetOperand(gemm, 1),
                           mlirOperationGetOperand(gemm, 2), mlirOperationGetOperand(combine, 1),
                           mlirOperationGetOperand(combine, 2)};
  MlirType type = mlirValueGetType(mlirOperationGetResult(combine, 0));
  Builder b = builder_before(combine, mlirOperationGetLocation(combine));
  replace(combine, op_build(&b, OP_GROUPED_MATMUL_COMBINE, operands, &type, &factor));
  if (!mlirOperationIsNull(scale)) mlirOperationDestroy(scale);
  mlirOperationDestroy(gemm);
  return 1;
}

/* Whether the use is one a gathered op can take over: the rows operand of grouped_matmul
 * (operand 0), of grouped_matmul_grad_weight (operand 1) or of a dropout (an adapter's input). */
static int gatherable_use(MlirOpOperand use) {
  MlirOperation owner = mlirOpOperandGetOwner(use);
  intptr_t i = mlirOpOperandGetOperandNumber(use);
  return (op_is_kind(owner, OP_GROUPED_MATMUL) && i == 0) || (op_is_kind(owner, OP_GROUPED_MATMUL_GRAD_WEIGHT) && i == 1) ||
         (op_is_kind(owner, OP_DROPOUT) && i == 0);
}

/* dispatch whose rows only GEMMs read -> route, and each GEMM gathers; 1 when fused */
static int fuse_gather(MlirOperation dispatch) {
  MlirValue x = mlirOperationGetOperand(dispatch, 0), idx = mlirOperationGetOperand(dispatch, 1);
  MlirValue rows = mlirOperationGetResult(dispatch, 0);
  for (MlirOpOperand use = mlirValueGetFirstUse(rows); !mlirOpOperandIsNull(use); use = mlirOpOperandGetNextUse(use))
    if (!gatherable_use(use)) return 0;
  MlirType types[2] = {mlirValueGetType(mlirOperationGetResult(dispatch, 1)),
                       mlirValueGetType(mlirOperationGetResult(dispatch, 2))};
  MlirOperation route = build_like_at(dispatch, OP_ROUTE, &idx, types, dispatch);
  MlirValue perm = mlirOperationGetResult(route, 0), offsets = mlirOperationGetResult(route, 1);
  while (!mlirOpOperandIsNull(mlirValueGetFirstUse(rows))) {
    MlirOperation gemm = mlirOpOperandGetOwner(mlirValueGetFirstUse(rows));
    MlirType type = mlirValueGetType(mlirOperationGetResult(gemm, 0));
    MlirOperation gathered;
    if (op_is_kind(gemm, OP_GROUPED_MATMUL)) /* (rows, bank, offsets) -> (x, perm, bank, offsets) */
      gathered = build_like_at(gemm, OP_GATHERED_MATMUL,
                               (MlirValue[]){x, perm, mlirOperationGetOperand(gemm, 1), offsets}, &type, gemm);
    else if (op_is_kind(gemm, OP_DROPOUT)) /* (rows, seed) -> (x, perm, seed) */
      gathered = build_like_at(gemm, OP_GATHERED_DROPOUT, (MlirValue[]){x, perm, mlirOperationGetOperand(gemm, 1)},
                               &type, gemm);
    else /* (dy, rows, offsets) -> (dy, x, perm, offsets) */
      gathered = build_like_at(gemm, OP_GATHERED_MATMUL_GRAD_WEIGHT,
                               (MlirValue[]){mlirOperationGetOperand(gemm, 0), x, perm, offsets}, &type, gemm);
    replace(gemm, gathered);
  }
  mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(dispatch, 1), perm);
  mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(dispatch, 2), offsets);
  mlirOperationDestroy(dispatch);
  return 1;
}

static void fuse_run(MlirOperation module, MlirExternalPass pass, void *options) {
  op_fuse_each(module, OP_COMBINE, fuse_combine);
  op_fuse_each(module, OP_DISPATCH, fuse_gather);
}

MlirPass perft_create_fuse_route_pass(void) {
  return perft_module_pass("PerftFuseRoute", "perft-fuse-route",
                           "gather routed rows inside the expert GEMMs, combine in their epilogue",
                           fuse_run, NULL, 0);
}
