/* bf16_gemm_inputs.c — the perft-bf16-gemm-inputs pass: a GEMM with a bf16 weight reads a bf16
 * copy of its other operand, so that the GEMM library multiplies bf16 by bf16 on tensor cores
 * with fp32 accumulation (the CUDA target: runtime/gemm_cublas.c; cuBLAS has no bf16 × fp32 GEMM).
 *
 * Before (perftc --frozen-dtype=bf16: W and the experts' banks are bf16, x and rows are f32):
 *   %y = linalg.matmul_transpose_b ins(%x, %W : tensor<64x2048xf32>, tensor<1024x2048xbf16>) outs(%z : tensor<64x1024xf32>)
 *   %h = "perft.grouped_matmul"(%rows, %bank, %offsets) : (tensor<512x2048xf32>, tensor<64x1024x2048xbf16>, ...)
 * After:
 *   %e  = tensor.empty() : tensor<64x2048xbf16>
 *   %xb = linalg.copy ins(%x : tensor<64x2048xf32>) outs(%e : tensor<64x2048xbf16>)      (arith.truncf: round to nearest even)
 *   %y  = linalg.matmul_transpose_b ins(%xb, %W : tensor<64x2048xbf16>, tensor<1024x2048xbf16>) outs(%z : tensor<64x1024xf32>)
 *   %rb = linalg.copy ins(%rows ...) ; %h = "perft.grouped_matmul"(%rb, %bank, %offsets)
 * One copy per value, made before its first such GEMM and read by every later one (the q, k, v
 * projections of one normalized input share it). The sums stay fp32: only the inputs are rounded,
 * as cuBLAS rounds fp32 inputs in its CUBLAS_COMPUTE_32F_FAST_16BF mode anyway. It runs after
 * autodiff (the copies have no gradient: the weights they meet are frozen) and only on targets
 * whose GEMMs are library calls (Target.gemm_library); the CPU's kernels widen bf16 as they load it.
 */
#include "passes.h"
#include "external_pass.h"
#include "op_table.h"

#include <stdlib.h>

typedef struct {
  MlirValue value, copy; /* an f32 GEMM input and its bf16 copy */
} Copy;

typedef struct {
  Copy *copies;
  int count, capacity;
} Copies;

static MlirType element_of(MlirValue v) { return mlirShapedTypeGetElementType(mlirValueGetType(v)); }

/* The bf16 copy of tensor x, made before `gemm` unless an earlier GEMM made it. */
static MlirValue bf16_copy(Copies *copies, MlirValue x, MlirOperation gemm) {
  for (int i = 0; i < copies->count; i++)
    if (mlirValueEqual(copies->copies[i].value, x)) return copies->copies[i].copy;
  if (copies->count == copies->capacity) {
    copies->capacity = 2 * copies->capacity + 16;
    copies->copies = realloc(copies->copies, (size_t)copies->capacity * sizeof(Copy));
    IR_CHECK(copies->copies != NULL, "out of memory");
  }
  MlirType type = mlirValueGetType(x);
  int64_t dims[4];
  intptr_t rank = mlirShapedTypeGetRank(type);
  IR_CHECK(rank <= 4, "perft-bf16-gemm-inputs: a GEMM input of rank > 4");
  for (intptr_t i = 0; i < rank; i++) dims[i] = mlirShapedTypeGetDimSize(type, i);
  MlirContext context = mlirOperationGetContext(gemm);
  MlirType bf16 = mlirRankedTensorTypeGet(rank, dims, mlirBF16TypeGet(context), mlirAttributeGetNull());
  Builder b = builder_before(gemm, mlirOperationGetLocation(gemm));
  MlirValue copy = build_linalg(&b, "linalg.copy", 1, &x, build_empty(&b, bf16));
  copies->copies[copies->count++] = (Copy){x, copy};
  return copy;
}

/* Whether GEMM operand `input` is f32 and operand `weight` bf16. */
static int needs_copy(MlirOperation op, int input, int weight) {
  return mlirTypeIsAF32(element_of(mlirOperationGetOperand(op, input))) &&
         mlirTypeIsABF16(element_of(mlirOperationGetOperand(op, weight)));
}

/* linalg.matmul{,_transpose_a,_transpose_b} ins(x, W) outs(z): rebuilt on the copy (a named linalg
 * op's body has its operands' element types). */
static void rewrite_matmul(Copies *copies, MlirOperation op) {
  MlirValue inputs[2] = {bf16_copy(copies, mlirOperationGetOperand(op, 0), op), mlirOperationGetOperand(op, 1)};
  Builder b = builder_before(op, mlirOperationGetLocation(op));
  MlirStringRef name = mlirIdentifierStr(mlirOperationGetName(op));
  char text[64];
  snprintf(text, sizeof text, "%.*s", (int)name.length, name.data);
  MlirValue y = build_linalg(&b, text, 2, inputs, mlirOperationGetOperand(op, 2));
  mlirValueReplaceAllUsesOfWith(mlirOperationGetResult(op, 0), y);
  mlirOperationDestroy(op);
}

static void bf16_gemm_inputs_run(MlirOperation module, MlirExternalPass pass, void *options) {
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(module, 0));
  for (MlirOperation func = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(func);
       func = mlirOperationGetNextInBlock(func)) {
    if (!op_is(func, "func.func")) continue;
    MlirBlock block = mlirRegionGetFirstBlock(mlirOperationGetRegion(func, 0));
    if (mlirBlockIsNull(block)) continue;
    Copies copies = {0};
    for (MlirOperation op = mlirBlockGetFirstOperation(block); !mlirOperationIsNull(op);) {
      MlirOperation next = mlirOperationGetNextInBlock(op);
      int tensor_form = mlirOperationGetNumResults(op) == 1;
      if (tensor_form && (op_is_kind(op, OP_MATMUL) || op_is_kind(op, OP_MATMUL_TRANSPOSE_A) ||
                          op_is_kind(op, OP_MATMUL_TRANSPOSE_B)) && needs_copy(op, 0, 1))
        rewrite_matmul(&copies, op);
      else if (tensor_form && op_is_kind(op, OP_GROUPED_MATMUL) && needs_copy(op, 0, 1))
        mlirOperationSetOperand(op, 0, bf16_copy(&copies, mlirOperationGetOperand(op, 0), op));
      op = next;
    }
    free(copies.copies);
  }
}

MlirPass perft_create_bf16_gemm_inputs_pass(void) {
  return perft_module_pass("PerftBf16GemmInputs", "perft-bf16-gemm-inputs",
                           "a GEMM with a bf16 weight reads a bf16 copy of its other operand (library GEMMs)",
                           bf16_gemm_inputs_run, NULL, 0);
}
