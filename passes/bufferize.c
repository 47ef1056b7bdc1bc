/* bufferize.c — the perft-bufferize pass: tensors become buffers, each with a lifetime.
 *
 * Before:
 *   func.func @train_step(%x: tensor<4x3xf32> {perft.input = "x"}, ...)
 *       -> (tensor<4x3xf32> {perft.output = "y"}, ...) {
 *     %y = "perft.softmax"(%x) {} : (tensor<4x3xf32>) -> tensor<4x3xf32>
 *     %e = tensor.empty() : tensor<4x3xf32>
 *     %z = linalg.add ins(%y, %x : ...) outs(%e : tensor<4x3xf32>) -> tensor<4x3xf32>
 *     return %z, ...
 *   }
 * After:
 *   func.func @train_step(%x: memref<4x3xf32> {perft.input = "x"}, ...,
 *                         %out: memref<4x3xf32> {perft.result = "output y"}, ...) {
 *     %0 = memref.alloc() : memref<4x3xf32>
 *     "perft_buffer.softmax"(%x, %0) : (memref<4x3xf32>, memref<4x3xf32>) -> ()
 *     %1 = memref.alloc() : memref<4x3xf32>
 *     linalg.add ins(%0, %x : ...) outs(%1 : memref<4x3xf32>)
 *     memref.dealloc %0 : memref<4x3xf32>          (right after its last reader)
 *     memref.copy %1, %out : ...
 *     memref.dealloc %1 : memref<4x3xf32>
 *     return
 *   }
 *
 * Arguments stay arguments; results become trailing output arguments. Each perft op
 * becomes its perft_buffer twin in destination-passing style (inputs, outputs, then the
 * scratch its table entry asks for, sized for the target's kernels: perft-bufferize{target=cuda});
 * linalg ops switch to buffer form and write into
 * their init's buffer (a copy when the init is read elsewhere or is an argument);
 * tensor.empty and tensor constants become allocations; scalar constants stay. Every
 * allocation is freed right after the last op that reads it (liveness over the
 * straight-line body), so the function runs as it is; perft-plan-workspace then places
 * the allocations in one workspace.
 */
#include "op_table.h"
#include "passes.h"
#include "external_pass.h"
#include "value_index.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  MlirValue memref;
  int last_use; /* the index of the last op of the old body that reads it */
  int live;
} Buffer;

typedef struct {
  Builder b;
  TargetKind target; /* whose kernels the scratch buffers are sized for */
  ValueIndex index;  /* the slot of each value of the old body ... */
  MlirValue *values; /* ... its memref (or, for scalars, its clone) */
  int *buffer;       /* ... its buffer (-1: a function argument or a scalar) */
  int *last_use;     /* ... the index of the last op that reads it (its definition if none) */
  Buffer *buffers;
  int num_buffers, buffer_capacity;
} Bufferize;

static size_t slot(Bufferize *z, MlirValue v) { return value_index_slot(&z->index, v); }

/* a contiguous memref of the tensor's shape */
static MlirType memref_of(MlirType tensor) {
  intptr_t rank = mlirShapedTypeGetRank(tensor);
  int64_t dims[8];
  for (intptr_t i = 0; i < rank; i++) dims[i] = mlirShapedTypeGetDimSize(tensor, i);
  return mlirMemRefTypeContiguousGet(mlirShapedTypeGetElementType(tensor), rank, dims, mlirAttributeGetNull());
}

static int is_tensor(MlirValue v) { return mlirTypeIsARankedTensor(mlirValueGetType(v)); }

/* A new allocation of `memref_type`, live until after old-body op `last_use`. */
static MlirValue allocate(Bufferize *z, MlirType memref_type, int last_use, int *id) {
  if (z->num_buffers == z->buffer_capacity) {
    z->buffer_capacity = z->buffer_capacity ? 2 * z->buffer_capacity : 64;
    z->buffers = realloc(z->buffers, (size_t)z->buffer_capacity * sizeof(Buffer));
    IR_CHECK(z->buffers != NULL, "out of memory");
  }
  MlirValue m = build_value(&z->b, "memref.alloc", 0, NULL, memref_type, 1,
                            (MlirNamedAttribute[]){named_attribute(z->b.context, "operandSegmentSizes",
                                                                   parse_attribute(z->b.context, "array<i32: 0, 0>"))});
  z->buffers[z->num_buffers] = (Buffer){m, last_use, 1};
  *id = z->num_buffers++;
  return m;
}

/* Frees every buffer whose last reader was old-body op `index`. */
static void free_dead_buffers(Bufferize *z, int index) {
  for (int i = 0; i < z->num_buffers; i++) {
    Buffer *b = &z->buffers[i];
    if (b->live && b->last_use <= index) {
      build_op(&z->b, "memref.dealloc", 1, &b->memref, 0, NULL, 0, NULL);
      b->live = 0;
    }
  }
}

static MlirValue buffer_of(Bufferize *z, MlirValue tensor) {
  MlirValue m = z->values[slot(z, tensor)];
  IR_CHECK(!mlirValueIsNull(m), "perft-bufferize: a value without a buffer");
  return m;
}

static void bind(Bufferize *z, MlirValue tensor, MlirValue memref, int buffer) {
  size_t i = slot(z, tensor);
  z->values[i] = memref;
  z->buffer[i] = buffer;
  if (buffer >= 0 && z->buffers[buffer].last_use < z->last_use[i]) z->buffers[buffer].last_use = z->last_use[i];
}

/* A fresh buffer for a new tensor value, live until its last use. */
static MlirValue buffer_for(Bufferize *z, MlirValue tensor) {
  int id;
  MlirValue m = allocate(z, memref_of(mlirValueGetType(tensor)), z->last_use[slot(z, tensor)], &id);
  bind(z, tensor, m, id);
  return m;
}

static int count_uses(MlirValue v) {
  int n = 0;
  for (MlirOpOperand use = mlirValueGetFirstUse(v); !mlirOpOperandIsNull(use); use = mlirOpOperandGetNextUse(use)) n++;
  return n;
}

static int has_prefix(MlirOperation op, const char *prefix) {
  MlirStringRef n = mlirIdentifierStr(mlirOperationGetName(op));
  return n.length >= strlen(prefix) && !memcmp(n.data, prefix, strlen(prefix));
}

/* linalg ins(...) outs(init) -> the result is init's buffer, written in place. */
static void bufferize_linalg(Bufferize *z, MlirOperation op) {
  intptr_t num_operands = mlirOperationGetNumOperands(op);
  MlirValue ins[8];
  IR_CHECK(num_operands <= 8, "perft-bufferize: too many linalg operands");
  for (intptr_t i = 0; i + 1 < num_operands; i++) ins[i] = z->values[slot(z, mlirOperationGetOperand(op, i))];
  MlirValue init_tensor = mlirOperationGetOperand(op, num_operands - 1), result = mlirOperationGetResult(op, 0);
  MlirValue init = buffer_of(z, init_tensor);
  int buffer = z->buffer[slot(z, init_tensor)];
  if (count_uses(init_tensor) > 1 || buffer < 0) { /* never write over a value someone else reads */
    MlirValue copy = allocate(z, mlirValueGetType(init), z->last_use[slot(z, result)], &buffer);
    build_op(&z->b, "memref.copy", 2, (MlirValue[]){init, copy}, 0, NULL, 0, NULL);
    init = copy;
  }
  MlirStringRef n = mlirIdentifierStr(mlirOperationGetName(op));
  char name[64];
  snprintf(name, sizeof name, "%.*s", (int)n.length, n.data);
  build_linalg(&z->b, name, (int)num_operands - 1, ins, init);
  bind(z, result, init, buffer);
}

/* perft.X(inputs) -> outputs  becomes  perft_buffer.X(inputs, outputs, scratch). */
static void bufferize_perft(Bufferize *z, MlirOperation op, const OpInfo *info, int index) {
  MlirValue operands[OP_MAX_OPERANDS + OP_MAX_RESULTS + OP_MAX_SCRATCH];
  int n = 0;
  for (int i = 0; i < info->num_operands; i++) operands[n++] = buffer_of(z, mlirOperationGetOperand(op, i));
  for (int i = 0; i < info->num_results; i++) operands[n++] = buffer_for(z, mlirOperationGetResult(op, i));
  MlirType scratch[OP_MAX_SCRATCH];
  int num_scratch = info->scratch ? info->scratch(op, z->target, scratch) : 0;
  for (int i = 0; i < num_scratch; i++) {
    int id;
    operands[n++] = allocate(z, scratch[i], index, &id);
  }
  intptr_t num_attributes = mlirOperationGetNumAttributes(op);
  MlirNamedAttribute attributes[OP_MAX_ATTRIBUTES + 4];
  IR_CHECK(num_attributes <= OP_MAX_ATTRIBUTES + 4, "perft-bufferize: too many attributes");
  for (intptr_t i = 0; i < num_attributes; i++) attributes[i] = mlirOperationGetAttribute(op, i);
  char name[96];
  build_op(&z->b, op_buffer_name(info, name, sizeof name), n, operands, 0, NULL, (int)num_attributes, attributes);
}

/* Bufferizes one op of the old body; 0 on failure (diagnosed). */
static int bufferize_op(Bufferize *z, MlirOperation op, int index) {
  z->b.location = mlirOperationGetLocation(op);
  const OpInfo *info = op_info_of(op);
  if (op_is(op, "tensor.empty")) {
    buffer_for(z, mlirOperationGetResult(op, 0));
  } else if (op_is(op, "arith.constant") && is_tensor(mlirOperationGetResult(op, 0))) {
    MlirValue r = mlirOperationGetResult(op, 0);
    MlirAttribute dense = mlirOperationGetAttributeByName(op, str("value"));
    MlirType element = mlirShapedTypeGetElementType(mlirValueGetType(r));
    IR_CHECK(mlirAttributeIsADenseElements(dense) && mlirDenseElementsAttrIsSplat(dense), "perft-bufferize: a tensor constant that is not a splat");
    double value = mlirTypeIsAF32(element) ? (double)mlirDenseElementsAttrGetFloatSplatValue(dense)
                                           : mlirDenseElementsAttrGetDoubleSplatValue(dense);
    MlirValue buffer = buffer_for(z, r);
    MlirValue scalar = build_float_constant(&z->b, element, value);
    build_linalg(&z->b, "linalg.fill", 1, &scalar, buffer);
  } else if (has_prefix(op, "linalg.")) {
    bufferize_linalg(z, op);
  } else if (info && !info->upstream && !op_is_buffer_form(op, info)) {
    bufferize_perft(z, op, info, index);
  } else if (mlirOperationGetNumResults(op) == 1 && mlirOperationGetNumOperands(op) == 0 &&
             !is_tensor(mlirOperationGetResult(op, 0))) { /* scalar constants */
    MlirOperation copy = mlirOperationClone(op);
    builder_insert(&z->b, copy);
    bind(z, mlirOperationGetResult(op, 0), mlirOperationGetResult(copy, 0), -1);
  } else {
    mlirEmitError(mlirOperationGetLocation(op), "perft-bufferize: cannot bufferize this operation");
    return 0;
  }
  return 1;
}

static MlirAttribute result_attribute(MlirContext context, MlirAttribute res_attrs, intptr_t i) {
  MlirAttribute d = mlirArrayAttrGetElement(res_attrs, i);
  const char *keys[] = {"perft.loss", "perft.output", "perft.grad"};
  const char *words[] = {"loss", "output ", "grad "};
  char text[256] = "result";
  for (int j = 0; j < 3; j++) {
    MlirAttribute a = mlirDictionaryAttrGetElementByName(d, str(keys[j]));
    if (mlirAttributeIsNull(a)) continue;
    MlirStringRef s = mlirAttributeIsAString(a) ? mlirStringAttrGetValue(a) : str("");
    snprintf(text, sizeof text, "%s%.*s", words[j], (int)s.length, s.data);
  }
  MlirNamedAttribute entry = named_attribute(context, "perft.result", mlirStringAttrGet(context, str(text)));
  return mlirDictionaryAttrGet(context, 1, &entry);
}

static MlirAttribute dictionary_at(MlirContext context, MlirAttribute array, intptr_t i) {
  return mlirAttributeIsNull(array) ? mlirDictionaryAttrGet(context, 0, NULL) : mlirArrayAttrGetElement(array, i);
}

/* Rewrites one tensor function into its buffer form; 0 on failure. */
static int bufferize_function(MlirOperation func, TargetKind target) {
  MlirContext context = mlirOperationGetContext(func);
  MlirBlock old_body = mlirRegionGetFirstBlock(mlirOperationGetRegion(func, 0));
  MlirOperation ret = mlirBlockGetTerminator(old_body);
  intptr_t num_args = mlirBlockGetNumArguments(old_body), num_results = mlirOperationGetNumOperands(ret);
  intptr_t total = num_args + num_results;
  MlirType *types = calloc((size_t)total + 1, sizeof(MlirType));
  MlirLocation *locs = calloc((size_t)total + 1, sizeof(MlirLocation));
  MlirAttribute *arg_attrs = calloc((size_t)total + 1, sizeof(MlirAttribute));
  IR_CHECK(types && locs && arg_attrs, "out of memory");
  MlirAttribute old_arg_attrs = mlirOperationGetAttributeByName(func, str("arg_attrs"));
  MlirAttribute old_res_attrs = mlirOperationGetAttributeByName(func, str("res_attrs"));
  for (intptr_t i = 0; i < total; i++) {
    int is_arg = i < num_args;
    MlirValue v = is_arg ? mlirBlockGetArgument(old_body, i) : mlirOperationGetOperand(ret, i - num_args);
    types[i] = memref_of(mlirValueGetType(v));
    locs[i] = is_arg ? mlirOperationGetLocation(func) : mlirOperationGetLocation(ret);
    arg_attrs[i] = is_arg ? dictionary_at(context, old_arg_attrs, i)
                   : mlirAttributeIsNull(old_res_attrs) ? mlirDictionaryAttrGet(context, 0, NULL)
                                                        : result_attribute(context, old_res_attrs, i - num_args);
  }

  MlirBlock body = mlirBlockCreate(total, types, locs);
  Bufferize z = {.b = {.context = context, .block = body, .anchor = null_operation(),
                       .location = mlirOperationGetLocation(func)},
                 .target = target};
  size_t num_values = (size_t)num_args;
  for (MlirOperation op = mlirBlockGetFirstOperation(old_body); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op))
    num_values += (size_t)mlirOperationGetNumResults(op);
  value_index_init(&z.index, num_values);
  z.values = calloc(z.index.capacity, sizeof(MlirValue));
  z.buffer = calloc(z.index.capacity, sizeof(int));
  z.last_use = calloc(z.index.capacity, sizeof(int));
  IR_CHECK(z.values && z.buffer && z.last_use, "out of memory");

  /* Liveness: the index of the last op reading each value (returned values live to the end). */
  int index = 0;
  for (MlirOperation op = mlirBlockGetFirstOperation(old_body); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op), index++) {
    for (intptr_t i = 0; i < mlirOperationGetNumResults(op); i++) z.last_use[slot(&z, mlirOperationGetResult(op, i))] = index;
    for (intptr_t i = 0; i < mlirOperationGetNumOperands(op); i++) z.last_use[slot(&z, mlirOperationGetOperand(op, i))] = index;
  }
  for (intptr_t i = 0; i < num_args; i++) bind(&z, mlirBlockGetArgument(old_body, i), mlirBlockGetArgument(body, i), -1);

  int ok = 1;
  index = 0;
  for (MlirOperation op = mlirBlockGetFirstOperation(old_body); ok && !mlirOperationEqual(op, ret);
       op = mlirOperationGetNextInBlock(op), index++) {
    ok = bufferize_op(&z, op, index);
    if (ok) free_dead_buffers(&z, index);
  }
  if (ok) {
    z.b.location = mlirOperationGetLocation(ret);
    for (intptr_t i = 0; i < num_results; i++) {
      MlirValue operands[2] = {buffer_of(&z, mlirOperationGetOperand(ret, i)), mlirBlockGetArgument(body, num_args + i)};
      build_op(&z.b, "memref.copy", 2, operands, 0, NULL, 0, NULL);
    }
    free_dead_buffers(&z, index);
    build_op(&z.b, "func.return", 0, NULL, 0, NULL, 0, NULL);
    MlirRegion region = mlirOperationGetRegion(func, 0);
    mlirBlockDetach(old_body);
    mlirRegionAppendOwnedBlock(region, body);
    mlirBlockDestroy(old_body);
    mlirOperationSetAttributeByName(func, str("function_type"),
                                    mlirTypeAttrGet(mlirFunctionTypeGet(context, total, types, 0, NULL)));
    mlirOperationSetAttributeByName(func, str("arg_attrs"), mlirArrayAttrGet(context, total, arg_attrs));
    mlirOperationRemoveAttributeByName(func, str("res_attrs"));
  } else {
    mlirBlockDestroy(body);
  }
  free(types); free(locs); free(arg_attrs); value_index_free(&z.index); free(z.values); free(z.buffer);
  free(z.last_use); free(z.buffers);
  return ok;
}

static int function_has_tensors(MlirOperation func) {
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(func, 0));
  if (mlirBlockIsNull(body)) return 0;
  for (intptr_t i = 0; i < mlirBlockGetNumArguments(body); i++)
    if (is_tensor(mlirBlockGetArgument(body, i))) return 1;
  MlirOperation ret = mlirBlockGetTerminator(body);
  for (intptr_t i = 0; i < mlirOperationGetNumOperands(ret); i++)
    if (is_tensor(mlirOperationGetOperand(ret, i))) return 1;
  return 0;
}

static void bufferize_run(MlirOperation module, MlirExternalPass pass, void *options) {
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(module, 0));
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op))
    if (op_is(op, "func.func") && function_has_tensors(op) && !bufferize_function(op, *(const TargetKind *)options)) {
      mlirExternalPassSignalFailure(pass);
      return;
    }
}

MlirPass perft_create_bufferize_pass(TargetKind target) {
  return perft_module_pass("PerftBufferize", "perft-bufferize",
                           "tensors to buffers with lifetimes; perft ops to their perft_buffer form",
                           bufferize_run, &target, sizeof target);
}
