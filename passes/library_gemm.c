/* library_gemm.c — see library_gemm.h. The call perft-emit-kernels{library=1} makes of a GEMM:
 *
 * Before (buffer form):
 *   linalg.matmul_transpose_b ins(%x, %w : memref<64x2048xf32>, memref<64x2048xf32>) outs(%y : memref<64x64xf32>)
 * After:
 *   %px = memref.extract_aligned_pointer_as_index %x : memref<64x2048xf32> -> index
 *   %ax = arith.index_cast %px : index to i64               (the same for %w and %y)
 *   func.call @perft_gemm(%flags, %c64, %c64, %c2048, %ax, %aw, %ay) : (i64, ...) -> ()
 *   func.func private @perft_gemm(i64, i64, i64, i64, i64, i64, i64)      (declared once per module)
 * flags are runtime/gemm.h's (GEMM_TRANSPOSE_B | GEMM_ACCUMULATE here: linalg.matmul adds into its
 * output, but for a GEMM marked perft.overwrite, whose zero fill perft-emit-kernels folded into it; GEMM_BF16_INPUTS when both inputs are bf16, which perft-bf16-gemm-inputs arranges for a
 * GEMM with a frozen bf16 weight). perft-gpu-launch leaves the call on the host, between the launches on the one stream
 * that cuBLAS shares, so the GEMM runs in program order with the generated kernels.
 */
#include "library_gemm.h"

#include <stdio.h>

enum { MAX_CALL_OPERANDS = 10 };

static int64_t dim(MlirValue memref, int i) { return mlirShapedTypeGetDimSize(mlirValueGetType(memref), i); }

/* A static, identity-layout memref in the default memory space of `element` (null: any). */
static int plain_memref(MlirValue v, MlirType element) {
  MlirType type = mlirValueGetType(v);
  if (!mlirTypeIsAMemRef(type) || !mlirShapedTypeHasStaticShape(type)) return 0;
  if (!mlirAttributeIsNull(mlirMemRefTypeGetMemorySpace(type))) return 0;
  MlirAttribute layout = mlirMemRefTypeGetLayout(type);
  if (!mlirAttributeIsNull(layout) &&
      !(mlirAttributeIsAAffineMap(layout) && mlirAffineMapIsIdentity(mlirAffineMapAttrGetValue(layout))))
    return 0;
  return mlirTypeIsNull(element) || mlirTypeEqual(mlirShapedTypeGetElementType(type), element);
}

/* Whether the GEMM's float operands (its two inputs, then its output) are all f32, all f64, or
 * bf16 inputs with an f32 output (perft-bf16-gemm-inputs' work: a frozen bf16 weight and the
 * bf16 copy of the other input); *flags gets GEMM_F64 or GEMM_BF16_INPUTS. An f32 input with a
 * bf16 weight keeps its generated kernel: cuBLAS multiplies bf16 only by bf16. */
static int float_operands(const MlirValue *memrefs, int64_t *flags) {
  MlirType output = mlirShapedTypeGetElementType(mlirValueGetType(memrefs[2]));
  MlirType input = mlirShapedTypeGetElementType(mlirValueGetType(memrefs[0]));
  if (!mlirTypeIsAF32(output) && !mlirTypeIsAF64(output)) return 0;
  if (mlirTypeIsABF16(input) && mlirTypeIsAF32(output)) *flags |= GEMM_BF16_INPUTS;
  else input = output;
  if (!plain_memref(memrefs[0], input) || !plain_memref(memrefs[1], input) || !plain_memref(memrefs[2], output))
    return 0;
  if (mlirTypeIsAF64(output)) *flags |= GEMM_F64;
  return 1;
}

static MlirValue i64_constant(Kernel *k, int64_t v) {
  MlirType i64 = mlirIntegerTypeGet(k->b.context, 64);
  MlirNamedAttribute value = named_attribute(k->b.context, "value", mlirIntegerAttrGet(i64, v));
  return build_value(&k->b, "arith.constant", 0, NULL, i64, 1, &value);
}

static MlirValue address(Kernel *k, MlirValue memref) {
  MlirValue pointer = build_value(&k->b, "memref.extract_aligned_pointer_as_index", 1, &memref, k->index, 0, NULL);
  return build_value(&k->b, "arith.index_cast", 1, &pointer, mlirIntegerTypeGet(k->b.context, 64), 0, NULL);
}

/* The module that holds the builder's block. */
static MlirOperation enclosing_module(Kernel *k) {
  MlirOperation op = mlirBlockGetParentOperation(k->b.block);
  while (!mlirOperationIsNull(op) && !op_is(op, "builtin.module")) op = mlirOperationGetParentOperation(op);
  IR_CHECK(!mlirOperationIsNull(op), "library_gemm: a kernel outside a module");
  return op;
}

/* func.func private @name(i64 × n), once per module. */
static void declare(Kernel *k, const char *name, int n) {
  MlirOperation module = enclosing_module(k);
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(module, 0));
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op)) {
    MlirAttribute symbol = mlirOperationGetAttributeByName(op, str("sym_name"));
    if (!mlirAttributeIsNull(symbol) && mlirStringRefEqual(mlirStringAttrGetValue(symbol), str(name))) return;
  }
  MlirType types[MAX_CALL_OPERANDS];
  for (int i = 0; i < n; i++) types[i] = mlirIntegerTypeGet(k->b.context, 64);
  MlirNamedAttribute attributes[] = {
      named_attribute(k->b.context, "sym_name", mlirStringAttrGet(k->b.context, str(name))),
      named_attribute(k->b.context, "function_type",
                      mlirTypeAttrGet(mlirFunctionTypeGet(k->b.context, n, types, 0, NULL))),
      named_attribute(k->b.context, "sym_visibility", mlirStringAttrGet(k->b.context, str("private"))),
  };
  MlirOperationState state = mlirOperationStateGet(str("func.func"), mlirLocationUnknownGet(k->b.context));
  mlirOperationStateAddAttributes(&state, 3, attributes);
  MlirRegion region = mlirRegionCreate();
  mlirOperationStateAddOwnedRegions(&state, 1, &region);
  MlirOperation declaration = mlirOperationCreate(&state);
  IR_CHECK(!mlirOperationIsNull(declaration), "library_gemm: cannot declare the GEMM function");
  mlirBlockAppendOwnedOperation(body, declaration);
}

/* func.call @name(flags, sizes..., addresses of memrefs...) (perft_gemm_offsets_ready: E, then the address) */
static void call(Kernel *k, const char *name, int64_t flags, int num_sizes, const int64_t *sizes, int num_memrefs,
                 const MlirValue *memrefs) {
  int n = 1 + num_sizes + num_memrefs;
  IR_CHECK(n <= MAX_CALL_OPERANDS, "library_gemm: too many operands");
  declare(k, name, n);
  MlirValue operands[MAX_CALL_OPERANDS];
  operands[0] = i64_constant(k, flags);
  for (int i = 0; i < num_sizes; i++) operands[1 + i] = i64_constant(k, sizes[i]);
  for (int i = 0; i < num_memrefs; i++) operands[1 + num_sizes + i] = address(k, memrefs[i]);
  MlirNamedAttribute callee =
      named_attribute(k->b.context, "callee", mlirFlatSymbolRefAttrGet(k->b.context, str(name)));
  build_op(&k->b, "func.call", n, operands, 0, NULL, 1, &callee);
}

void library_gemm_offsets_ready(Kernel *k, MlirValue offsets) {
  IR_CHECK(plain_memref(offsets, k->i32), "library_gemm: expert offsets that are not a static i32 memref");
  int64_t E = dim(offsets, 0) - 1;
  call(k, "perft_gemm_offsets_ready", E, 0, NULL, 1, &offsets);
}

int library_gemm_dense_takes(MlirValue a, MlirValue b, MlirValue c) {
  int64_t flags = 0;
  return float_operands((MlirValue[]){a, b, c}, &flags);
}

int library_gemm_dense(Kernel *k, MlirValue a, MlirValue b, MlirValue c, int transpose_a, int transpose_b,
                       int overwrite) {
  int64_t flags = (overwrite ? 0 : GEMM_ACCUMULATE) | (transpose_a ? GEMM_TRANSPOSE_A : 0) | (transpose_b ? GEMM_TRANSPOSE_B : 0);
  MlirValue memrefs[3] = {a, b, c};
  if (!float_operands(memrefs, &flags)) return 0;
  int64_t sizes[3] = {dim(c, 0), dim(c, 1), dim(a, transpose_a ? 0 : 1)}; /* M, N, K */
  call(k, "perft_gemm", flags, 3, sizes, 3, memrefs);
  return 1;
}

/* a grouped GEMM's call: floats[3] the float operands, E N K its sizes, memrefs[4] in call order */
static int grouped_call(Kernel *k, const char *name, int transpose_w, MlirValue offsets, const MlirValue *floats,
                        const int64_t *sizes, const MlirValue *memrefs) {
  int64_t flags = transpose_w ? GEMM_TRANSPOSE_B : 0;
  if (!float_operands(floats, &flags) || !plain_memref(offsets, k->i32)) return 0;
  call(k, name, flags, 3, sizes, 4, memrefs);
  return 1;
}

int library_gemm_grouped(Kernel *k, MlirValue rows, MlirValue bank, MlirValue offsets, MlirValue y, int transpose_w) {
  int64_t sizes[3] = {dim(bank, 0), dim(y, 1), dim(rows, 1)}; /* E, N, K */
  return grouped_call(k, "perft_grouped_gemm", transpose_w, offsets, (MlirValue[]){rows, bank, y}, sizes,
                      (MlirValue[]){rows, bank, offsets, y});
}

int library_gemm_grouped_grad_weight(Kernel *k, MlirValue dy, MlirValue rows, MlirValue offsets, MlirValue dbank,
                                     int transpose_w) {
  int64_t sizes[3] = {dim(dbank, 0), dim(dy, 1), dim(rows, 1)}; /* E, N, K */
  return grouped_call(k, "perft_grouped_gemm_grad_weight", transpose_w, offsets, (MlirValue[]){dy, rows, dbank}, sizes,
                      (MlirValue[]){dy, rows, offsets, dbank});
}

int library_gemm_attention(Kernel *k, int form, MlirValue x, MlirValue y, MlirValue out, int64_t B, int64_t S,
                           int64_t d, int64_t H, int64_t G) {
  int64_t flags = form;
  MlirValue memrefs[3] = {x, y, out};
  if (!float_operands(memrefs, &flags) || (flags & GEMM_BF16_INPUTS)) return 0;
  int64_t sizes[5] = {B, S, d, H, G};
  call(k, "perft_attention_gemm", flags, 5, sizes, 3, memrefs);
  return 1;
}
