/* emit_kernels.c — the perft-emit-kernels pass: each op in buffer form becomes its target's kernel.
 *
 * Before (perft-plan-workspace's output):
 *   %0 = memref.view %workspace[%c0][] : memref<128xi8> to memref<4x3xf32>
 *   "perft_buffer.softmax"(%x, %0) : (memref<4x3xf32>, memref<4x3xf32>) -> ()
 *   linalg.matmul_transpose_b ins(%a, %w : ...) outs(%c : memref<4x8xf32>)
 * After (target=cpu):
 *   scf.for %r = %c0 to %c4 step %c1 {            (softmax: max, exp and sum, scale)
 *     ... arith / math / memref.load / memref.store ...
 *   }
 *   scf.for ... { ... 4x4 register blocks of the GEMM ... }   (scf.parallel when big)
 *
 * The kernel comes from the op table's column for the target (cpu: cpu_kernels.c and
 * matmul_kernels.c). A kernel may decline (linalg elementwise ops on the CPU): the op then
 * stays for the upstream lowering that follows. Options: target=cpu, parallel=0|1 (GEMM
 * blocks as scf.parallel, which the CPU target maps to OpenMP threads), parallel-min-work=N
 * (only GEMMs of at least N multiply-adds go parallel), vector-bytes=N (the vector width of
 * the GEMM microkernels' vector.fma blocks; 0: scalar loops only), outline=0|1, library=0|1
 * (dense and grouped GEMMs as calls into the runtime's GEMM library: library_gemm.c).
 *
 * outline=1 (perftc's pipeline): each kernel goes into a private function that LLVM never
 * inlines, shared by every op with the same name, attributes, operand types and pattern of
 * repeated operands (the layers of a stack share theirs), and the op becomes a call:
 *   func.func private @perft_kernel_3_softmax(%a: memref<4x3xf32>, %b: memref<4x3xf32>)
 *       attributes {llvm.linkage = #llvm.linkage<internal>, passthrough = ["noinline"]} {
 *     scf.for ... ; return
 *   }
 *   func.call @perft_kernel_3_softmax(%x, %0) : (memref<4x3xf32>, memref<4x3xf32>) -> ()
 * LLVM then optimises many small functions instead of one function of every kernel inlined,
 * whose cost grows faster than its size (a token model of 8 layers: 11 s before). The numbers
 * may differ in the last bits from outline=0: reductions under fast-math reassociation vectorise
 * differently in a function of their own (the fusions are compared with outlining on in both). Only ops
 * whose operands are all static, identity-layout memrefs are outlined (the bare-pointer calling
 * convention passes nothing else).
 */
#include "passes.h"
#include "external_pass.h"
#include "library_gemm.h"
#include "op_table.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static MlirType function_float_type(MlirContext context, MlirBlock body) {
  for (intptr_t i = 0; i < mlirBlockGetNumArguments(body); i++) {
    MlirType t = mlirValueGetType(mlirBlockGetArgument(body, i));
    if (mlirTypeIsAMemRef(t) && mlirTypeIsAFloat(mlirShapedTypeGetElementType(t)) &&
        !mlirTypeIsABF16(mlirShapedTypeGetElementType(t))) /* bf16: frozen weights, widened as loaded */
      return mlirShapedTypeGetElementType(t);
  }
  return mlirF32TypeGet(context);
}

/* ---- outlining (outline=1) ---------------------------------------------------------------- */

/* In buffer form an op's operands are its inputs, its results' buffers and its scratch. */
enum { MAX_BUFFERS = OP_MAX_OPERANDS + OP_MAX_RESULTS + OP_MAX_SCRATCH };

typedef struct {
  char *key;      /* op name, attributes, operand types and repeated-operand pattern */
  char name[96];  /* the function's symbol; "" when the target's kernel declined the op */
} OutlinedKernel;

typedef struct {
  OutlinedKernel *kernels;
  int count, capacity;
} Outliner;

typedef struct {
  char *text;
  size_t length, capacity;
} KeyText;

static void key_append(MlirStringRef piece, void *data) {
  KeyText *key = data;
  if (key->length + piece.length + 1 > key->capacity) {
    key->capacity = 2 * (key->length + piece.length + 1);
    key->text = realloc(key->text, key->capacity);
    IR_CHECK(key->text != NULL, "perft-emit-kernels: out of memory");
  }
  memcpy(key->text + key->length, piece.data, piece.length);
  key->length += piece.length;
  key->text[key->length] = '\0';
}

static void key_append_text(KeyText *key, const char *text) { key_append(str(text), key); }

/* unique_of[i]: the index among the op's distinct operands of operand i. */
static char *kernel_key(MlirOperation op, const int *unique_of, intptr_t num_operands) {
  KeyText key = {NULL, 0, 0};
  key_append(mlirIdentifierStr(mlirOperationGetName(op)), &key);
  for (intptr_t a = 0; a < mlirOperationGetNumAttributes(op); a++) {
    MlirNamedAttribute attribute = mlirOperationGetAttribute(op, a);
    key_append_text(&key, " ");
    key_append(mlirIdentifierStr(attribute.name), &key);
    key_append_text(&key, "=");
    mlirAttributePrint(attribute.attribute, key_append, &key);
  }
  for (intptr_t i = 0; i < num_operands; i++) {
    char index[24];
    snprintf(index, sizeof index, " %%%d:", unique_of[i]);
    key_append_text(&key, index);
    mlirTypePrint(mlirValueGetType(mlirOperationGetOperand(op, i)), key_append, &key);
  }
  return key.text;
}

static int passes_as_bare_pointer(MlirType type) {
  if (mlirTypeIsAFloat(type) || mlirTypeIsAInteger(type) || mlirTypeIsAIndex(type)) return 1; /* a scalar */
  if (!mlirTypeIsAMemRef(type) || !mlirShapedTypeHasStaticShape(type)) return 0;
  if (!mlirAttributeIsNull(mlirMemRefTypeGetMemorySpace(type))) return 0;
  MlirAttribute layout = mlirMemRefTypeGetLayout(type);
  return mlirAttributeIsNull(layout) ||
         (mlirAttributeIsAAffineMap(layout) && mlirAffineMapIsIdentity(mlirAffineMapAttrGetValue(layout)));
}


/* Emits op's kernel into a shared function and replaces op by a call. Returns 1 when done, 0 when
 * op cannot be outlined or its kernel declined (the caller then emits it in place). With a null
 * info (a linalg.fill, which the upstream lowering turns into loops) the function holds a copy of
 * op itself. */
static int emit_outlined(Outliner *outliner, Kernel *k, MlirOperation func, MlirOperation op, const OpInfo *info,
                         const EmitKernelsOptions *options) {
  intptr_t n = mlirOperationGetNumOperands(op);
  if (mlirOperationGetNumResults(op) != 0 || n > MAX_BUFFERS) return 0;
  MlirValue unique[MAX_BUFFERS];
  MlirType unique_types[MAX_BUFFERS];
  int unique_of[MAX_BUFFERS], num_unique = 0;
  for (intptr_t i = 0; i < n; i++) {
    MlirValue operand = mlirOperationGetOperand(op, i);
    if (!passes_as_bare_pointer(mlirValueGetType(operand))) return 0;
    int u = 0;
    while (u < num_unique && !mlirValueEqual(unique[u], operand)) u++;
    if (u == num_unique) {
      unique[num_unique] = operand;
      unique_types[num_unique++] = mlirValueGetType(operand);
    }
    unique_of[i] = u;
  }
  char *key = kernel_key(op, unique_of, n);
  OutlinedKernel *known = NULL;
  for (int i = 0; i < outliner->count && !known; i++)
    if (!strcmp(outliner->kernels[i].key, key)) known = &outliner->kernels[i];
  if (known) free(key);
  else {
    if (outliner->count == outliner->capacity) {
      outliner->capacity = 2 * outliner->capacity + 16;
      outliner->kernels = realloc(outliner->kernels, (size_t)outliner->capacity * sizeof *outliner->kernels);
      IR_CHECK(outliner->kernels != NULL, "perft-emit-kernels: out of memory");
    }
    known = &outliner->kernels[outliner->count++];
    known->key = key;
    MlirStringRef op_name = mlirIdentifierStr(mlirOperationGetName(op));
    const char *dot = memchr(op_name.data, '.', op_name.length);
    int skip = dot ? (int)(dot - op_name.data + 1) : 0;
    snprintf(known->name, sizeof known->name, "perft_kernel_%d_%.*s", outliner->count - 1,
             (int)op_name.length - skip, op_name.data + skip);
    MlirOperation terminator, function = build_function(func, known->name, num_unique, unique_types, 1,
                                                        mlirOperationGetLocation(op), &terminator);
    Kernel inner = *k;
    inner.b.block = mlirOperationGetBlock(terminator);
    inner.b.anchor = terminator;
    inner.b.location = mlirOperationGetLocation(op);
    MlirValue buffers[MAX_BUFFERS + 1];
    for (intptr_t i = 0; i < n; i++) buffers[i] = mlirBlockGetArgument(inner.b.block, unique_of[i]);
    if (!info) { /* the op itself, on the function's arguments */
      MlirOperation copy = mlirOperationClone(op);
      for (intptr_t i = 0; i < n; i++) mlirOperationSetOperand(copy, i, buffers[i]);
      mlirBlockInsertOwnedOperationBefore(inner.b.block, terminator, copy);
    } else if (!info->kernel[options->target](&inner, op, buffers)) {
      mlirOperationDestroy(function);
      known->name[0] = '\0'; /* declined: the upstream lowering takes ops like it in place */
    }
  }
  if (!known->name[0]) return 0;
  Builder call = builder_before(op, mlirOperationGetLocation(op));
  MlirNamedAttribute callee =
      named_attribute(call.context, "callee", mlirFlatSymbolRefAttrGet(call.context, str(known->name)));
  build_op(&call, "func.call", num_unique, unique, 0, NULL, 1, &callee);
  mlirOperationDestroy(op);
  return 1;
}

/* With library=1, a result named "offsets" (the expert offsets of dispatch, route, ec_dispatch: the op
 * table says which) is announced to the runtime right after its op (library_gemm.h), so that the
 * grouped GEMMs reading it need no wait for the stream of their own. */
static void announce_offsets(Kernel *k, const OpInfo *info, const MlirValue *buffers, MlirOperation before,
                             MlirLocation location) {
  for (int r = 0; r < info->num_results; r++) {
    if (strcmp(info->results[r].name, "offsets")) continue;
    k->b.anchor = before;
    k->b.location = location;
    library_gemm_offsets_ready(k, buffers[info->num_operands + r]);
  }
}

/* Emits the kernels of one function; 0 on failure (diagnosed). */
/* With a GEMM library (library=1), a linalg.fill of +0.0 into c just before a dense GEMM that adds
 * into c, and that the library takes, is folded into it: the fill goes, the GEMM is marked
 * perft.overwrite (c = a·b: cuBLAS's β = 0), and c is neither written twice nor read once.
 *   linalg.fill ins(%zero) outs(%c);  linalg.matmul ins(%a, %b) outs(%c)
 * ->
 *   linalg.matmul {perft.overwrite} ins(%a, %b) outs(%c)
 * Returns 1 when it folded `fill`. */
static int fold_zero_fill(MlirOperation fill, MlirOperation next) {
  if (mlirOperationIsNull(next) || mlirOperationGetNumOperands(fill) != 2) return 0;
  const OpInfo *info = op_info_of(next);
  if (info != &op_table[OP_MATMUL] && info != &op_table[OP_MATMUL_TRANSPOSE_A] && info != &op_table[OP_MATMUL_TRANSPOSE_B])
    return 0;
  MlirValue value = mlirOperationGetOperand(fill, 0), c = mlirOperationGetOperand(fill, 1);
  if (mlirOperationGetNumOperands(next) != 3 || !mlirValueEqual(mlirOperationGetOperand(next, 2), c) ||
      mlirValueIsABlockArgument(value) || !op_is(mlirOpResultGetOwner(value), "arith.constant") ||
      !library_gemm_dense_takes(mlirOperationGetOperand(next, 0), mlirOperationGetOperand(next, 1), c))
    return 0;
  MlirAttribute zero = mlirOperationGetAttributeByName(mlirOpResultGetOwner(value), str("value"));
  if (!mlirAttributeIsAFloat(zero) || mlirFloatAttrGetValueDouble(zero) != 0.0 || signbit(mlirFloatAttrGetValueDouble(zero)))
    return 0;
  mlirOperationSetAttributeByName(next, str("perft.overwrite"), mlirUnitAttrGet(mlirOperationGetContext(next)));
  mlirOperationDestroy(fill);
  return 1;
}

static int emit_function(MlirOperation func, const EmitKernelsOptions *options, Outliner *outliner) {
  MlirContext context = mlirOperationGetContext(func);
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(func, 0));
  if (mlirBlockIsNull(body)) return 1;
  Kernel k = {.b = {.context = context, .block = body},
              .index = mlirIndexTypeGet(context), .f = function_float_type(context, body),
              .i32 = mlirIntegerTypeGet(context, 32), .i1 = mlirIntegerTypeGet(context, 1),
              .parallel = options->parallel, .parallel_min_work = options->parallel_min_work,
              .vector_bytes = options->vector_bytes, .gpu = options->target == TARGET_CUDA,
              .library = options->library};
  for (MlirOperation op = mlirBlockGetFirstOperation(body), next; !mlirOperationIsNull(op); op = next) {
    next = mlirOperationGetNextInBlock(op);
    const OpInfo *info = op_info_of(op);
    if (!info && options->library && op_is(op, "linalg.fill") && fold_zero_fill(op, next)) continue;
    if (!info && options->outline && op_is(op, "linalg.fill")) {
      emit_outlined(outliner, &k, func, op, NULL, options); /* its loops, out of the big function */
      continue;
    }
    if (!info) continue;
    if (!op_is_buffer_form(op, info)) {
      char message[160];
      snprintf(message, sizeof message, "perft-emit-kernels: '%s' is still on tensors; run perft-bufferize first",
               info->name);
      mlirEmitError(mlirOperationGetLocation(op), message);
      return 0;
    }
    intptr_t n = mlirOperationGetNumOperands(op);
    MlirValue buffers[OP_MAX_OPERANDS + OP_MAX_RESULTS + OP_MAX_SCRATCH + 1];
    IR_CHECK(n <= (intptr_t)(sizeof buffers / sizeof buffers[0]), "perft-emit-kernels: too many operands");
    for (intptr_t i = 0; i < n; i++) buffers[i] = mlirOperationGetOperand(op, i);
    MlirLocation location = mlirOperationGetLocation(op);
    if (options->outline && emit_outlined(outliner, &k, func, op, info, options)) {
      if (options->library) announce_offsets(&k, info, buffers, next, location);
      continue;
    }
    k.b.anchor = op;
    k.b.location = location;
    if (info->kernel[options->target](&k, op, buffers)) {
      mlirOperationDestroy(op);
      if (options->library) announce_offsets(&k, info, buffers, next, location);
    }
  }
  return 1;
}

static void emit_run(MlirOperation module, MlirExternalPass pass, void *options) {
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(module, 0));
  Outliner outliner = {0};
  int ok = 1;
  /* kernel functions go in before the function being emitted, so this walk never meets them */
  for (MlirOperation op = mlirBlockGetFirstOperation(body); ok && !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op))
    if (op_is(op, "func.func")) ok = emit_function(op, options, &outliner);
  for (int i = 0; i < outliner.count; i++) free(outliner.kernels[i].key);
  free(outliner.kernels);
  if (!ok) mlirExternalPassSignalFailure(pass);
}

MlirPass perft_create_emit_kernels_pass(EmitKernelsOptions options) {
  return perft_module_pass("PerftEmitKernels", "perft-emit-kernels",
                           "every op in buffer form becomes the kernel of the chosen target",
                           emit_run, &options, sizeof options);
}
