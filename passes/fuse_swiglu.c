/* fuse_swiglu.c — the perft-fuse-swiglu pass: a SwiGLU gate as one kernel forward, one backward.
 *
 * Forward only (mode A: nothing differentiates through the expert):
 *   %s = "perft.silu"(%a)                            %g = "perft.swiglu"(%a, %b)
 *   %g = linalg.mul ins(%s, %b) outs(%e)       ->
 * Forward and backward (an input gradient flows through the expert), as autodiff wrote them:
 *   %s  = "perft.silu"(%a)                           %g = "perft.swiglu"(%a, %b)
 *   %g  = linalg.mul ins(%s, %b) outs(%e0)           ...
 *   ...                                        ->    %da, %db = "perft.swiglu_grad"(%a, %b, %dy)
 *   %ds = linalg.mul ins(%dy, %b) outs(%e1)
 *   %db = linalg.mul ins(%dy, %s) outs(%e2)
 *   %da = "perft.silu_grad"(%a, %ds)
 * (either operand order of the forward product). All tensors are [R, F]: the gate of a bank
 * of SwiGLU experts, silu(x·W1ᵀ) ⊙ x·W3ᵀ. Fused, neither silu(a) nor ds is written: one or
 * two R×F intermediates and their passes are saved; the backward recomputes silu(a).
 * Anything else reading %s or %ds keeps the ops as they are. The fused kernels compute in
 * the unfused order (cpu_kernels.c), so the numbers do not change: tests/e2e/fusion_on_off.sh.
 */
#include "passes.h"
#include "external_pass.h"
#include "op_table.h"


enum { MAX_USES = 2 };

/* The ops reading v (at most MAX_USES + 1 are counted). */
static int readers(MlirValue v, MlirOperation *ops) {
  int n = 0;
  for (MlirOpOperand use = mlirValueGetFirstUse(v); !mlirOpOperandIsNull(use); use = mlirOpOperandGetNextUse(use)) {
    if (n < MAX_USES) ops[n] = mlirOpOperandGetOwner(use);
    n++;
  }
  return n;
}


/* A linalg.mul on tensors. */
static int is_tensor_mul(MlirOperation op) { return op_is_kind(op, OP_MUL) && mlirOperationGetNumResults(op) == 1; }

/* The operand of the product `mul` other than v. */
static MlirValue other_factor(MlirOperation mul, MlirValue v) {
  MlirValue x = mlirOperationGetOperand(mul, 0);
  return mlirValueEqual(x, v) ? mlirOperationGetOperand(mul, 1) : x;
}

/* Erases op, then its init's tensor.empty when nothing else reads it. */
static void erase_with_init(MlirOperation op) {
  MlirValue init = mlirOperationGetNumOperands(op) == 3 ? mlirOperationGetOperand(op, 2) : (MlirValue){NULL};
  mlirOperationDestroy(op);
  if (!mlirValueIsNull(init) && mlirValueIsAOpResult(init) && op_is(mlirOpResultGetOwner(init), "tensor.empty") &&
      mlirOpOperandIsNull(mlirValueGetFirstUse(init)))
    mlirOperationDestroy(mlirOpResultGetOwner(init));
}

static MlirOperation build_at(MlirOperation anchor, OpId id, const MlirValue *operands, const MlirType *types) {
  Builder b = builder_before(anchor, mlirOperationGetLocation(anchor));
  return op_build(&b, id, operands, types, NULL);
}

/* %g = mul(silu(a), b) -> swiglu(a, b); the product goes (the silu stays for the caller) */
static void fuse_forward(MlirOperation silu, MlirOperation mul) {
  MlirValue a = mlirOperationGetOperand(silu, 0), b = other_factor(mul, mlirOperationGetResult(silu, 0));
  MlirValue g = mlirOperationGetResult(mul, 0);
  MlirType type = mlirValueGetType(g);
  MlirOperation swiglu = build_at(mul, OP_SWIGLU, (MlirValue[]){a, b}, &type);
  mlirValueReplaceAllUsesOfWith(g, mlirOperationGetResult(swiglu, 0));
  erase_with_init(mul);
}

/* With s read by the forward product `forward` and by `backward` = mul(dy, s): finds
 * ds = mul(dy, b) read only by silu_grad(a, ds) and fuses all five ops; 0 when absent. */
static int fuse_forward_backward(MlirOperation silu, MlirOperation forward, MlirOperation backward) {
  MlirValue a = mlirOperationGetOperand(silu, 0), s = mlirOperationGetResult(silu, 0);
  MlirValue b = other_factor(forward, s), dy = other_factor(backward, s);
  MlirOperation ds_mul = null_operation(), silu_grad = null_operation(), users[MAX_USES];
  for (MlirOpOperand use = mlirValueGetFirstUse(dy); !mlirOpOperandIsNull(use); use = mlirOpOperandGetNextUse(use)) {
    MlirOperation op = mlirOpOperandGetOwner(use);
    if (!is_tensor_mul(op) || !mlirValueEqual(mlirOperationGetOperand(op, 0), dy) ||
        !mlirValueEqual(mlirOperationGetOperand(op, 1), b))
      continue;
    if (readers(mlirOperationGetResult(op, 0), users) == 1 && op_is_kind(users[0], OP_SILU_GRAD) &&
        mlirValueEqual(mlirOperationGetOperand(users[0], 0), a)) {
      ds_mul = op;
      silu_grad = users[0];
    }
  }
  if (mlirOperationIsNull(ds_mul)) return 0;
  fuse_forward(silu, forward);
  /* ds and db come from the mul rule, one after the other; da (later) and db's readers follow */
  MlirOperation first = op_is_before(ds_mul, backward) ? ds_mul : backward;
  MlirType types[2] = {mlirValueGetType(a), mlirValueGetType(a)};
  MlirOperation grad = build_at(first, OP_SWIGLU_GRAD, (MlirValue[]){a, b, dy}, types);
  mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(silu_grad, 0), mlirOperationGetResult(grad, 0));
  mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(backward, 0), mlirOperationGetResult(grad, 1));
  mlirOperationDestroy(silu_grad);
  erase_with_init(ds_mul);
  erase_with_init(backward);
  return 1;
}

/* Fuses the gate of one silu, if it is one; 1 when it did. */
static int fuse_silu(MlirOperation silu) {
  MlirOperation users[MAX_USES];
  int n = readers(mlirOperationGetResult(silu, 0), users);
  int fused = 0;
  if (n == 1 && is_tensor_mul(users[0])) {
    fuse_forward(silu, users[0]);
    fused = 1;
  } else if (n == 2 && is_tensor_mul(users[0]) && is_tensor_mul(users[1])) {
    int first = op_is_before(users[0], users[1]) ? 0 : 1; /* the forward product */
    fused = fuse_forward_backward(silu, users[first], users[1 - first]);
  }
  if (fused) mlirOperationDestroy(silu);
  return fused;
}

static void fuse_run(MlirOperation module, MlirExternalPass pass, void *options) {
  op_fuse_each(module, OP_SILU, fuse_silu);
}

MlirPass perft_create_fuse_swiglu_pass(void) {
  return perft_module_pass("PerftFuseSwiglu", "perft-fuse-swiglu", "a SwiGLU gate as one kernel forward, one backward",
                           fuse_run, NULL, 0);
}
