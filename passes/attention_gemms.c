/* attention_gemms.c — the perft-attention-gemms pass: causal attention as GEMMs over one square of
 * scores per (sequence, head), for targets with a GEMM library (cuBLAS: tensor cores), where the
 * fused kernel — a thread a (row, head) walking its keys — is far from the GPU's rate.
 *
 * Before (B sequences of S rows, H heads of d, G kv heads):
 *   %y = "perft.causal_attention"(%q, %k, %v) {heads = H, kv_heads = G, seq = S}
 *   %dq, %dk, %dv = "perft.causal_attention_grad"(%q, %k, %v, %y, %dy) {...}
 * After (scale = 1/√d; squares [B·H, S, S]):
 *   %s  = "perft.attention_scores"(%q, %k) {...}            q_bh · k_bgᵀ
 *   %p  = "perft.causal_softmax"(%s) {scale}                 rows over the keys j ≤ i, zeros above
 *   %y  = "perft.attention_apply"(%p, %v) {...}              p · v_bg
 * and for the gradient, the scores and probabilities again (recomputed, not kept from the forward:
 * one square per layer lives at a time), then
 *   %dp = "perft.attention_scores"(%dy, %v)                  dy_bh · v_bgᵀ
 *   %ds = "perft.causal_softmax_grad"(%p, %dp) {scale}       p ⊙ (dp − Σ p·dp) · scale
 *   %dq = "perft.attention_apply"(%ds, %k)                   ds · k_bg
 *   %dk = "perft.attention_apply_t"(%ds, %q)                 Σ over the group's heads of dsᵀ · q_bh
 *   %dv = "perft.attention_apply_t"(%p, %dy)                 Σ over the group's heads of pᵀ · dy_bh
 * The squares are intermediates like any other (the workspace holds them: B·H·S² floats each); the
 * GEMMs become library calls (attention_kernels.c), the softmaxes generated kernels. It runs after
 * autodiff (its ops have no rules) and only where Target.gemm_library is set.
 */
#include "passes.h"
#include "external_pass.h"
#include "op_table.h"

#include <math.h>

typedef struct {
  Builder b;
  MlirType square; /* [B·H, S, S] */
  AttributeValue heads[3], scale;
} Rewrite;

static Rewrite rewrite_for(MlirOperation op) {
  MlirValue q = mlirOperationGetOperand(op, 0);
  MlirType q_type = mlirValueGetType(q);
  int64_t H = op_int_attribute(op, "heads", 1), G = op_int_attribute(op, "kv_heads", 1), S = op_int_attribute(op, "seq", 1);
  int64_t d = mlirShapedTypeGetDimSize(q_type, 1) / H, B = mlirShapedTypeGetDimSize(q_type, 0) / S;
  int64_t dims[3] = {B * H, S, S};
  Rewrite r = {.b = builder_before(op, mlirOperationGetLocation(op)),
               .square = mlirRankedTensorTypeGet(3, dims, mlirShapedTypeGetElementType(q_type), mlirAttributeGetNull()),
               .heads = {{.i = H}, {.i = G}, {.i = S}},
               .scale = {.f = 1.0 / sqrt((double)d)}}; /* as the fused kernel's (cpu_kernels.c, attention_row) */
  return r;
}

static MlirValue build(Rewrite *r, OpId id, MlirValue a, MlirValue b, MlirType type) {
  MlirValue operands[2] = {a, b};
  const AttributeValue *attributes = id == OP_CAUSAL_SOFTMAX || id == OP_CAUSAL_SOFTMAX_GRAD ? &r->scale : r->heads;
  return mlirOperationGetResult(op_build(&r->b, id, operands, &type, attributes), 0);
}

static int rewrite_forward(MlirOperation op) {
  if (mlirOperationGetNumResults(op) != 1) return 0; /* the buffer form: too late */
  Rewrite r = rewrite_for(op);
  MlirValue q = mlirOperationGetOperand(op, 0), k = mlirOperationGetOperand(op, 1), v = mlirOperationGetOperand(op, 2);
  MlirValue y = mlirOperationGetResult(op, 0);
  MlirValue s = build(&r, OP_ATTENTION_SCORES, q, k, r.square);
  MlirValue p = build(&r, OP_CAUSAL_SOFTMAX, s, (MlirValue){NULL}, r.square);
  mlirValueReplaceAllUsesOfWith(y, build(&r, OP_ATTENTION_APPLY, p, v, mlirValueGetType(y)));
  mlirOperationDestroy(op);
  return 1;
}

static int rewrite_backward(MlirOperation op) {
  if (mlirOperationGetNumResults(op) != 3) return 0;
  Rewrite r = rewrite_for(op);
  MlirValue q = mlirOperationGetOperand(op, 0), k = mlirOperationGetOperand(op, 1), v = mlirOperationGetOperand(op, 2);
  MlirValue dy = mlirOperationGetOperand(op, 4);
  MlirValue s = build(&r, OP_ATTENTION_SCORES, q, k, r.square);
  MlirValue p = build(&r, OP_CAUSAL_SOFTMAX, s, (MlirValue){NULL}, r.square);
  MlirValue dp = build(&r, OP_ATTENTION_SCORES, dy, v, r.square);
  MlirValue ds = build(&r, OP_CAUSAL_SOFTMAX_GRAD, p, dp, r.square);
  MlirValue dq = build(&r, OP_ATTENTION_APPLY, ds, k, mlirValueGetType(q));
  MlirValue dk = build(&r, OP_ATTENTION_APPLY_T, ds, q, mlirValueGetType(k));
  MlirValue dv = build(&r, OP_ATTENTION_APPLY_T, p, dy, mlirValueGetType(v));
  mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(op, 0), dq);
  mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(op, 1), dk);
  mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(op, 2), dv);
  mlirOperationDestroy(op);
  return 1;
}

static void attention_gemms_run(MlirOperation module, MlirExternalPass pass, void *options) {
  op_fuse_each(module, OP_CAUSAL_ATTENTION, rewrite_forward);
  op_fuse_each(module, OP_CAUSAL_ATTENTION_GRAD, rewrite_backward);
}

MlirPass perft_create_attention_gemms_pass(void) {
  return perft_module_pass("PerftAttentionGemms", "perft-attention-gemms",
                           "causal attention as GEMMs over a square of scores per (sequence, head) (library GEMMs)",
                           attention_gemms_run, NULL, 0);
}
