/* fuse_epilogue.c — the perft-fuse-epilogue pass: a scale and a residual add in the GEMM's epilogue.
 *
 * An adapter's up-projection is scaled (α/r) and added to what the frozen path made:
 *   %z0 = linalg.fill ins(%c0) outs(..)
 *   %u  = linalg.matmul_transpose_b ins(%a, %B) outs(%z0)        [T, D]
 *   %s  = "perft.scale"(%u) {factor = 2.0}                        (optional)
 *   %y  = linalg.add ins(%base, %s) outs(..)                      [T, D]
 * ->
 *   %y  = "perft.matmul_scale_add"(%a, %B, %base) {scale = 2.0}   [T, D]
 * and the same for expert banks (PERFT-E's up-projection adds the expert's W2 output, LoRA on
 * an expert's W1/W3 adds to the expert's own GEMMs):
 *   %u = "perft.grouped_matmul"(%z, %Bbank, %offsets) {transpose_w = true}
 *   %s = "perft.scale"(%u) ... ; %y = linalg.add ins(%y1, %s)
 * ->
 *   %y = "perft.grouped_matmul_scale_add"(%z, %Bbank, %offsets, %y1) {scale = 2.0}
 * Each sum leaves the registers as addend + scale · sum: neither the GEMM's output nor its
 * scaled copy is written, and the add's pass over three tensors is gone.
 *
 * Only dot-form GEMMs (x·wᵀ, which take each sum whole before putting it) with K ≤ 1024 fuse:
 * past that a register block's weights would stream from L2 for every row block (the reason
 * perft-fuse-route stops there too); adapters' up-projections have K = r. When both operands of
 * the add qualify, the GEMM with the shorter K takes the epilogue (the adapter's, not W2). A GEMM
 * with a bf16 weight (a frozen base weight, perftc --frozen-dtype=bf16) stays whole: on the CUDA
 * target it is a library call on bf16 tensor cores (perft-bf16-gemm-inputs), which a fused
 * generated kernel is not; the adapters the epilogue is for are f32.
 * Sums, the scale and the add are rounded as the unfused ops round them (strict, no FMA
 * contraction, IEEE addition commutes), so the numbers do not change (tests/e2e/fusion_on_off.sh).
 */
#include "passes.h"
#include "external_pass.h"
#include "matmul_kernels.h"
#include "op_table.h"

/* One operand of the add that a GEMM could take into its epilogue. */
typedef struct {
  MlirOperation gemm, scale; /* scale: null when there is none */
  double factor;
  int64_t K;
} Candidate;

static int64_t dim_of(MlirValue v, int i) { return mlirShapedTypeGetDimSize(mlirValueGetType(v), i); }

/* Whether v is made (through a scale) by a dot-form GEMM that only the add reads. */
static int find_candidate(MlirValue v, Candidate *c) {
  *c = (Candidate){null_operation(), null_operation(), 1.0, 0};
  if (!has_one_reader(v)) return 0;
  MlirOperation op = defining_op(v);
  if (op_is_kind(op, OP_SCALE)) {
    c->scale = op;
    c->factor = op_float_attribute(op, "factor", 1.0);
    v = mlirOperationGetOperand(op, 0);
    if (!has_one_reader(v)) return 0;
    op = defining_op(v);
  }
  if (op_is_kind(op, OP_MATMUL_TRANSPOSE_B)) {
    if (!fills_zero(mlirOperationGetOperand(op, 2))) return 0;
  } else if (op_is_kind(op, OP_GROUPED_MATMUL)) {
    if (!op_int_attribute(op, "transpose_w", 0)) return 0;
  } else {
    return 0;
  }
  if (mlirTypeIsABF16(mlirShapedTypeGetElementType(mlirValueGetType(mlirOperationGetOperand(op, 1)))))
    return 0; /* a frozen bf16 weight's GEMM stays whole */
  c->gemm = op;
  c->K = dim_of(mlirOperationGetOperand(op, 0), 1);
  return c->K <= WHOLE_SUM_MAX_K; /* matmul_kernels.h */
}

/* add(a, [scale](gemm)) or add([scale](gemm), b) -> *_scale_add; 1 when fused */
static int fuse_add(MlirOperation add) {
  MlirValue result = mlirOperationGetResult(add, 0);
  if (mlirShapedTypeGetRank(mlirValueGetType(result)) != 2) return 0;
  Candidate c[2];
  int ok[2];
  for (int i = 0; i < 2; i++) ok[i] = find_candidate(mlirOperationGetOperand(add, i), &c[i]);
  if (!ok[0] && !ok[1]) return 0;
  int side = ok[0] && (!ok[1] || c[0].K < c[1].K) ? 0 : 1;
  MlirValue addend = mlirOperationGetOperand(add, 1 - side);
  MlirType type = mlirValueGetType(result);
  if (!mlirTypeEqual(mlirValueGetType(addend), type)) return 0;
  MlirOperation gemm = c[side].gemm;
  Builder b = builder_before(add, mlirOperationGetLocation(add));
  AttributeValue scale = {.f = c[side].factor};
  MlirOperation fused;
  if (op_is_kind(gemm, OP_MATMUL_TRANSPOSE_B))
    fused = op_build(&b, OP_MATMUL_SCALE_ADD,
                     (MlirValue[]){mlirOperationGetOperand(gemm, 0), mlirOperationGetOperand(gemm, 1), addend}, &type, &scale);
  else
    fused = op_build(&b, OP_GROUPED_MATMUL_SCALE_ADD,
                     (MlirValue[]){mlirOperationGetOperand(gemm, 0), mlirOperationGetOperand(gemm, 1),
                                   mlirOperationGetOperand(gemm, 2), addend},
                     &type, &scale);
  mlirValueReplaceAllUsesOfWith(result, mlirOperationGetResult(fused, 0));
  MlirOperation add_init = defining_op(mlirOperationGetOperand(add, 2));
  mlirOperationDestroy(add);
  erase_if_dead(add_init);
  if (!mlirOperationIsNull(c[side].scale)) mlirOperationDestroy(c[side].scale);
  MlirOperation gemm_init =
      op_is_kind(gemm, OP_MATMUL_TRANSPOSE_B) ? defining_op(mlirOperationGetOperand(gemm, 2)) : null_operation();
  mlirOperationDestroy(gemm);
  erase_if_dead(gemm_init);
  return 1;
}

static void fuse_run(MlirOperation module, MlirExternalPass pass, void *options) {
  op_fuse_each(module, OP_ADD, fuse_add);
}

MlirPass perft_create_fuse_epilogue_pass(void) {
  return perft_module_pass("PerftFuseEpilogue", "perft-fuse-epilogue",
                           "a GEMM's scale and residual add in its epilogue", fuse_run, NULL, 0);
}
