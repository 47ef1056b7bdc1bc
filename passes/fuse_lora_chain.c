/* fuse_lora_chain.c — the perft-fuse-lora-chain pass: a LoRA's dropout, down- and up-projection as one kernel.
 *
 * A shared LoRA (PERFT-S, PERFT-D, LoRA on the router), after perft-fuse-epilogue:
 *   %xd = "perft.dropout"(%h, %seed) {p = 0.05}                                [T, D]
 *   %z  = linalg.matmul_transpose_b ins(%xd, %A) outs(<zeros>)                 [T, r]
 *   %y  = "perft.matmul_scale_add"(%z, %B, %base) {scale = 2.0}                [T, D]
 * ->
 *   %xd, %z, %y = "perft.lora_chain"(%h, %seed, %A, %B, %base) {p = 0.05, scale = 2.0}
 * and LoRA experts behind a router (PERFT-R's training step: the up-projection's output is read
 * by the router's gradient, so it is not combined in an epilogue), after perft-fuse-route:
 *   %xd = "perft.gathered_dropout"(%h, %perm, %seed); %z = "perft.grouped_matmul"(%xd, %Abank, %offsets)
 *   %u = "perft.grouped_matmul"(%z, %Bbank, %offsets)                  (both transpose_w)
 * ->
 *   %xd, %z, %u = "perft.grouped_lora_chain"(%h, %perm, %seed, %Abank, %Bbank, %offsets) {p = 0.05}
 * The kernel takes CHAIN_ROWS rows at a time through all three steps (cpu_kernels.c): the
 * dropped-out rows are read back from L1/L2, not memory, and the r-wide intermediate (r ≤ 64)
 * never leaves L1. xd and z stay results: the weight gradients read them (dA from xd, dB from z).
 *
 * Fuses only when A is at most CHAIN_MAX_RANK rows (a LoRA's rank, not a dense layer), and when
 * every other reader of xd and z comes after the up-projection (the chain sits where it was).
 * The numbers do not change (tests/e2e/fusion_on_off.sh).
 */
#include "passes.h"
#include "external_pass.h"
#include "op_table.h"

enum { CHAIN_MAX_RANK = 64 };

static int64_t dim_of(MlirValue v, int i) { return mlirShapedTypeGetDimSize(mlirValueGetType(v), i); }

/* Whether every reader of v other than `except` comes after op. */
static int other_readers_after(MlirValue v, MlirOperation except, MlirOperation op) {
  for (MlirOpOperand use = mlirValueGetFirstUse(v); !mlirOpOperandIsNull(use); use = mlirOpOperandGetNextUse(use)) {
    MlirOperation reader = mlirOpOperandGetOwner(use);
    if (!mlirOperationEqual(reader, except) && !op_is_before(op, reader)) return 0;
  }
  return 1;
}

/* The down-projection (kind down_kind) that makes z, in up's block, reading a rank-2 dropout of
 * kind dropout_kind: 1 and both found. */
static int find_chain(MlirOperation up, OpId down_kind, OpId dropout_kind, MlirOperation *down, MlirOperation *dropout) {
  MlirValue z = mlirOperationGetOperand(up, 0);
  *down = defining_op(z);
  if (!op_is_kind(*down, down_kind) || !mlirBlockEqual(mlirOperationGetBlock(*down), mlirOperationGetBlock(up))) return 0;
  MlirValue xd = mlirOperationGetOperand(*down, 0), A = mlirOperationGetOperand(*down, 1);
  *dropout = defining_op(xd);
  if (!op_is_kind(*dropout, dropout_kind) || mlirShapedTypeGetRank(mlirValueGetType(xd)) != 2) return 0;
  if (dim_of(A, mlirShapedTypeGetRank(mlirValueGetType(A)) - 2) > CHAIN_MAX_RANK) return 0;
  return other_readers_after(z, up, up) && other_readers_after(xd, *down, up);
}

/* Builds op `id` before up from the operands, replaces xd, z and up's result, erases the three. */
static void replace_chain(OpId id, MlirOperation up, MlirOperation down, MlirOperation dropout, const MlirValue *operands,
                          const AttributeValue *attributes) {
  MlirValue xd = mlirOperationGetResult(dropout, 0), z = mlirOperationGetResult(down, 0), y = mlirOperationGetResult(up, 0);
  MlirType types[3] = {mlirValueGetType(xd), mlirValueGetType(z), mlirValueGetType(y)};
  Builder b = builder_before(up, mlirOperationGetLocation(up));
  MlirOperation chain = op_build(&b, id, operands, types, attributes);
  mlirValueReplaceAllUsesOfWith(y, mlirOperationGetResult(chain, 2));
  mlirOperationDestroy(up);
  mlirValueReplaceAllUsesOfWith(z, mlirOperationGetResult(chain, 1));
  MlirOperation down_init = op_is_kind(down, OP_MATMUL_TRANSPOSE_B) ? defining_op(mlirOperationGetOperand(down, 2))
                                                                    : null_operation();
  mlirOperationDestroy(down);
  erase_if_dead(down_init);
  mlirValueReplaceAllUsesOfWith(xd, mlirOperationGetResult(chain, 0));
  mlirOperationDestroy(dropout);
}

/* matmul_scale_add(matmul_transpose_b(dropout(x), A), B, addend) -> lora_chain; 1 when fused */
static int fuse_dense(MlirOperation up) {
  MlirOperation down, dropout;
  if (!find_chain(up, OP_MATMUL_TRANSPOSE_B, OP_DROPOUT, &down, &dropout) || !fills_zero(mlirOperationGetOperand(down, 2)))
    return 0;
  AttributeValue attributes[2] = {{.f = op_float_attribute(dropout, "p", 0.0)},
                                  {.f = op_float_attribute(up, "scale", 1.0)}};
  MlirValue operands[5] = {mlirOperationGetOperand(dropout, 0), mlirOperationGetOperand(dropout, 1),
                           mlirOperationGetOperand(down, 1), mlirOperationGetOperand(up, 1), mlirOperationGetOperand(up, 2)};
  replace_chain(OP_LORA_CHAIN, up, down, dropout, operands, attributes);
  return 1;
}

/* grouped_matmul(grouped_matmul(gathered_dropout(x, perm, seed), A, offsets), B, offsets)
 * -> grouped_lora_chain; 1 when fused */
static int fuse_grouped(MlirOperation up) {
  MlirOperation down, dropout;
  if (!op_int_attribute(up, "transpose_w", 0) || !find_chain(up, OP_GROUPED_MATMUL, OP_GATHERED_DROPOUT, &down, &dropout) ||
      !op_int_attribute(down, "transpose_w", 0) ||
      !mlirValueEqual(mlirOperationGetOperand(up, 2), mlirOperationGetOperand(down, 2)))
    return 0;
  AttributeValue p = {.f = op_float_attribute(dropout, "p", 0.0)};
  MlirValue operands[6] = {mlirOperationGetOperand(dropout, 0), mlirOperationGetOperand(dropout, 1),
                           mlirOperationGetOperand(dropout, 2), mlirOperationGetOperand(down, 1),
                           mlirOperationGetOperand(up, 1), mlirOperationGetOperand(up, 2)};
  replace_chain(OP_GROUPED_LORA_CHAIN, up, down, dropout, operands, &p);
  return 1;
}

static void fuse_run(MlirOperation module, MlirExternalPass pass, void *options) {
  op_fuse_each(module, OP_MATMUL_SCALE_ADD, fuse_dense);
  op_fuse_each(module, OP_GROUPED_MATMUL, fuse_grouped);
}

MlirPass perft_create_fuse_lora_chain_pass(void) {
  return perft_module_pass("PerftFuseLoraChain", "perft-fuse-lora-chain",
                           "a LoRA's dropout, down- and up-projection as one kernel", fuse_run, NULL, 0);
}
