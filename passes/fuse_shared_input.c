/* fuse_shared_input.c — the perft-fuse-shared-input pass: GEMMs that read one input become one GEMM.
 *
 * Products of one x with several weights (the base router, a PEFT router and a shared adapter's
 * down-projection all read the block's input h) become one product with the weights stacked:
 *   %z0 = linalg.fill ins(%c0) outs(..)                      %w  = "perft.concat"(%router, %A) {axis = 0}       [E+r, D]
 *   %l  = linalg.matmul_transpose_b ins(%h, %router)         %z  = linalg.fill ins(%c0) outs(..)                 [T, E+r]
 *             outs(%z0)                       [T, E]    ->   %y  = linalg.matmul_transpose_b ins(%h, %w) outs(%z) [T, E+r]
 *   ...                                                      %l  = "perft.slice"(%y) {axis = 1, start = 0}       [T, E]
 *   %a  = linalg.matmul_transpose_b ins(%h, %A) outs(%z1)    %a  = "perft.slice"(%y) {axis = 1, start = E}       [T, r]
 * The same for linalg.matmul (x·W, W [K, N]: stacked along axis 1) and for the weight gradients
 * of such weights, which read one x too:
 *   %dR = linalg.matmul_transpose_a ins(%dl, %h) outs(..)  [E, D]     %dy = "perft.concat"(%dl, %da) {axis = 1}   [T, E+r]
 *   ...                                                        ->     %g  = linalg.matmul_transpose_a ins(%dy, %h) ...
 *   %dA = linalg.matmul_transpose_a ins(%da, %h) outs(..)  [r, D]     %dR, %dA = "perft.slice"(%g) {axis = 0, ...}
 * The joined GEMM sits where the first of them was when every stacked operand is ready there
 * (the forward: weights are arguments), else where the last was when nothing reads the others'
 * results before it (the gradients: the dy arrive one by one). Every init must be a linalg.fill of
 * one constant. More than two are stacked by chained concats.
 *
 * What it buys: x is read once, not once per GEMM, and skinny GEMMs (a 4-expert router, a rank-16
 * down-projection) fill whole register blocks of one wider GEMM. What it costs: the stacked weights
 * (or dy) are copied once per step, ΣN·K floats (1/T of the GEMM's multiply-adds), and the outputs are
 * sliced out (T·ΣN). Input gradients (Σ_i dy_i·W_i into one dx) are not joined: one GEMM over the
 * stacked K would sum in another order than the adds autodiff wrote, and the numbers would change.
 *
 * The numbers do not change: every output element is summed the same way whatever column or row of
 * the GEMM it sits in (matmul_kernels.c: one vector block for every dot product, tails included; the
 * axpy form sums along K in order), from the same zero (tests/e2e/fusion_on_off.sh).
 */
#include "passes.h"
#include "external_pass.h"
#include "op_table.h"

#include <stdlib.h>

/* How one kind of GEMM shares an operand: ins(a, b) outs(c) */
typedef struct {
  OpId id;
  int shared;      /* the operand all of them read: 0 (x·Wᵀ, x·W) or 1 (dyᵀ·x) */
  int stack_axis;  /* the axis along which the other operands are stacked */
  int output_axis; /* the axis of the output that is sliced */
} SharedForm;

static const SharedForm forms[] = {
    {OP_MATMUL_TRANSPOSE_B, 0, 0, 1}, /* y[T,N] = x[T,K] · w[N,K]ᵀ */
    {OP_MATMUL, 0, 1, 1},             /* y[T,N] = x[T,K] · w[K,N] */
    {OP_MATMUL_TRANSPOSE_A, 1, 1, 0}, /* dw[N,K] = dy[T,N]ᵀ · x[T,K] */
};

/* Whether v is ready at op: an argument of op's block, or made before op in it. */
static int is_ready_at(MlirValue v, MlirOperation op) {
  MlirBlock block = mlirOperationGetBlock(op);
  if (mlirValueIsABlockArgument(v)) return mlirBlockEqual(mlirBlockArgumentGetOwner(v), block);
  MlirOperation owner = mlirOpResultGetOwner(v);
  return mlirBlockEqual(mlirOperationGetBlock(owner), block) && op_is_before(owner, op);
}

/* Whether every reader of v comes after op. */
static int read_only_after(MlirValue v, MlirOperation op) {
  for (MlirOpOperand use = mlirValueGetFirstUse(v); !mlirOpOperandIsNull(use); use = mlirOpOperandGetNextUse(use))
    if (!op_is_before(op, mlirOpOperandGetOwner(use))) return 0;
  return 1;
}

/* The constant a GEMM's init (ins(a, b) outs(init)) is filled with, or null. */
static MlirAttribute init_constant(MlirOperation gemm) { return fill_constant(mlirOperationGetOperand(gemm, 2)); }

/* Whether gemm can join first's group: same kind (the caller's), same shared operand, one block,
 * inits filled with one constant. */
static int joins(MlirOperation first, MlirOperation gemm, const SharedForm *form) {
  MlirAttribute a = init_constant(first), b = init_constant(gemm);
  return mlirValueEqual(mlirOperationGetOperand(first, form->shared), mlirOperationGetOperand(gemm, form->shared)) &&
         mlirBlockEqual(mlirOperationGetBlock(first), mlirOperationGetBlock(gemm)) && !mlirAttributeIsNull(a) &&
         !mlirAttributeIsNull(b) && mlirAttributeEqual(a, b);
}

static int64_t dim_of(MlirValue v, int i) { return mlirShapedTypeGetDimSize(mlirValueGetType(v), i); }

static MlirValue build_int_op(Builder *b, OpId id, const MlirValue *operands, MlirType type, int64_t a0, int64_t a1) {
  AttributeValue attributes[2] = {{.i = a0}, {.i = a1}};
  return mlirOperationGetResult(op_build(b, id, operands, &type, attributes), 0);
}

/* Replaces the n GEMMs of one group (in block order) by one; the joined GEMM goes before `at`. */
static void fuse_group(MlirOperation *group, int n, const SharedForm *form, MlirOperation at) {
  Builder b = builder_before(at, mlirOperationGetLocation(group[0]));
  int varying = 1 - form->shared;
  MlirValue first = mlirOperationGetOperand(group[0], varying);
  MlirType element = mlirShapedTypeGetElementType(mlirValueGetType(first));
  /* stacked = concat(concat(v0, v1), v2) ... */
  MlirValue stacked = first;
  for (int i = 1; i < n; i++) {
    MlirValue next = mlirOperationGetOperand(group[i], varying);
    int64_t shape[2] = {dim_of(stacked, 0), dim_of(stacked, 1)};
    shape[form->stack_axis] += dim_of(next, form->stack_axis);
    stacked = build_int_op(&b, OP_CONCAT, (MlirValue[]){stacked, next}, ranked_tensor(2, shape, element),
                           form->stack_axis, 0);
  }
  /* the joined output, filled like the first GEMM's init */
  MlirValue first_out = mlirOperationGetResult(group[0], 0);
  int64_t out_shape[2] = {dim_of(first_out, 0), dim_of(first_out, 1)};
  out_shape[form->output_axis] = 0;
  for (int i = 0; i < n; i++) out_shape[form->output_axis] += dim_of(mlirOperationGetResult(group[i], 0), form->output_axis);
  MlirType out_type = ranked_tensor(2, out_shape, element);
  MlirValue value = build_value(&b, "arith.constant", 0, NULL, element, 1,
                                (MlirNamedAttribute[]){named_attribute(b.context, "value", init_constant(group[0]))});
  MlirValue init = build_linalg(&b, "linalg.fill", 1, &value, build_empty(&b, out_type));
  MlirValue inputs[2];
  inputs[form->shared] = mlirOperationGetOperand(group[0], form->shared);
  inputs[varying] = stacked;
  MlirValue joined = build_linalg(&b, op_table[form->id].name, 2, inputs, init);
  /* each old output is its slice of the joined one (all built before `at` goes) */
  int64_t start = 0;
  for (int i = 0; i < n; i++) {
    MlirValue old = mlirOperationGetResult(group[i], 0);
    MlirValue part = build_int_op(&b, OP_SLICE, &joined, mlirValueGetType(old), form->output_axis, start);
    start += dim_of(old, form->output_axis);
    mlirValueReplaceAllUsesOfWith(old, part);
  }
  for (int i = 0; i < n; i++) {
    MlirOperation old_init = defining_op(mlirOperationGetOperand(group[i], 2));
    mlirOperationDestroy(group[i]);
    erase_if_dead(old_init);
  }
}

/* Whether the operand to stack has the GEMM's float type: a bf16 frozen weight (--frozen-dtype=bf16)
 * is read in place, widened by the GEMM kernel, never copied into a stacked f32 weight. */
static int stackable(MlirOperation gemm, const SharedForm *form) {
  MlirType stacked = mlirValueGetType(mlirOperationGetOperand(gemm, 1 - form->shared));
  MlirType result = mlirValueGetType(mlirOperationGetResult(gemm, 0));
  return mlirTypeEqual(mlirShapedTypeGetElementType(stacked), mlirShapedTypeGetElementType(result));
}

/* Groups the GEMMs of one form by their shared operand and joins each group that can be. */
static void fuse_form(MlirOperation module, const SharedForm *form) {
  size_t n;
  MlirOperation *gemms = op_collect(module, form->id, &n);
  char *taken = calloc(n ? n : 1, 1);
  MlirOperation *group = malloc((n ? n : 1) * sizeof *group);
  IR_CHECK(taken != NULL && group != NULL, "out of memory");
  for (size_t i = 0; i < n; i++) {
    if (taken[i] || mlirAttributeIsNull(init_constant(gemms[i])) || !stackable(gemms[i], form)) continue;
    int size = 0;
    group[size++] = gemms[i];
    for (size_t j = i + 1; j < n; j++)
      if (!taken[j] && stackable(gemms[j], form) && joins(gemms[i], gemms[j], form)) {
        group[size++] = gemms[j];
        taken[j] = 1;
      }
    taken[i] = 1;
    if (size < 2) continue;
    /* at the first GEMM when every stacked operand is ready there, else at the last one when
     * nothing reads an earlier output before it */
    int at_first = 1, at_last = 1;
    for (int g = 0; g < size; g++) {
      at_first &= is_ready_at(mlirOperationGetOperand(group[g], 1 - form->shared), group[0]);
      if (g < size - 1) at_last &= read_only_after(mlirOperationGetResult(group[g], 0), group[size - 1]);
    }
    if (at_first)
      fuse_group(group, size, form, group[0]);
    else if (at_last)
      fuse_group(group, size, form, group[size - 1]);
  }
  free(group);
  free(taken);
  free(gemms);
}

static void fuse_run(MlirOperation module, MlirExternalPass pass, void *options) {
  for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) fuse_form(module, &forms[f]);
}

MlirPass perft_create_fuse_shared_input_pass(void) {
  return perft_module_pass("PerftFuseSharedInput", "perft-fuse-shared-input",
                           "GEMMs that read one input as one GEMM over the stacked weights", fuse_run, NULL, 0);
}
