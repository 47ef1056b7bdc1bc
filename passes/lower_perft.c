/* lower_perft.c — from tensors to loops over one workspace.
 *
 * Before:
 *   func.func @train_step(%w: tensor<4x3xf32> {perft.param = "w", ...}, %x: tensor<5x4xf32> {...})
 *       -> (tensor<f32> {perft.loss}, tensor<4x3xf32> {perft.grad = "w"}) {
 *     %e = tensor.empty() : tensor<5x3xf32>
 *     %y = linalg.matmul ins(%x, %w) outs(%e)
 *     %s = "perft.silu"(%y)
 *     ...
 *     return %l, %dw
 *   }
 * After:
 *   func.func @train_step(%w: memref<4x3xf32> {...}, %x: memref<5x4xf32> {...},
 *                         %loss: memref<f32> {perft.result = "loss"},
 *                         %dw: memref<4x3xf32> {perft.result = "grad w"},
 *                         %workspace: memref<256xi8> {perft.workspace})
 *       attributes {perft.workspace_bytes = 256} {
 *     %e = memref.view %workspace[%c0][] : memref<256xi8> to memref<5x3xf32>
 *     linalg.matmul ins(%x, %w : ...) outs(%e : memref<5x3xf32>)
 *     %s = memref.view %workspace[%c64][] ...
 *     scf.for %i = ... { ... silu as arith/math ... }
 *     ...
 *     memref.copy %l, %loss ; memref.copy %g, %dw
 *     return
 *   }
 *
 * Every tensor value becomes a memref: arguments stay arguments, results become
 * trailing output arguments, and each intermediate is a view of one workspace
 * buffer at a 64-byte aligned offset (bump allocation; nothing is allocated at
 * run time). linalg ops keep their names and switch to buffer form; perft ops
 * become scf loops (lower_perft_kernels.c); arith ops on scalars are cloned.
 */
#include "lower_perft_kernels.h"
#include "passes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  void **keys;
  MlirValue *values;
  size_t capacity;
} BufferMap; /* tensor value -> its memref */

static size_t buffer_slot(BufferMap *map, MlirValue v) {
  size_t i = (((uintptr_t)v.ptr >> 4) * 0x9E3779B97F4A7C15ull) & (map->capacity - 1);
  while (map->keys[i] && map->keys[i] != v.ptr) i = (i + 1) & (map->capacity - 1);
  map->keys[i] = (void *)v.ptr;
  return i;
}

typedef struct {
  Kernel k;
  BufferMap map;
  MlirValue workspace;
  int64_t workspace_bytes;
} Lowering;

static MlirType memref_of(MlirType tensor) {
  intptr_t rank = mlirShapedTypeGetRank(tensor);
  int64_t dims[8];
  for (intptr_t i = 0; i < rank; i++) dims[i] = mlirShapedTypeGetDimSize(tensor, i);
  return mlirMemRefTypeContiguousGet(mlirShapedTypeGetElementType(tensor), rank, dims, mlirAttributeGetNull());
}

static int64_t bytes_of(MlirType shaped) {
  MlirType element = mlirShapedTypeGetElementType(shaped);
  int64_t width = mlirTypeIsAF64(element) ? 8 : 4;
  return shaped_num_elements(shaped) * width;
}

/* A fresh view of the workspace (the ScratchAllocator of the kernels too). */
static MlirValue allocate(void *context, MlirType memref_type) {
  Lowering *L = context;
  int64_t offset = L->workspace_bytes;
  L->workspace_bytes += (bytes_of(memref_type) + 63) / 64 * 64;
  MlirValue operands[2] = {L->workspace, index_const(&L->k, offset)};
  return build_value(&L->k.b, "memref.view", 2, operands, memref_type, 0, NULL);
}

static MlirValue buffer_of(Lowering *L, MlirValue tensor) {
  MlirValue m = L->map.values[buffer_slot(&L->map, tensor)];
  IR_CHECK(!mlirValueIsNull(m), "lower-perft: a tensor without a buffer");
  return m;
}

static void bind(Lowering *L, MlirValue tensor, MlirValue memref) {
  L->map.values[buffer_slot(&L->map, tensor)] = memref;
}

static int is_tensor(MlirValue v) { return mlirTypeIsARankedTensor(mlirValueGetType(v)); }

static MlirStringRef op_name(MlirOperation op) { return mlirIdentifierStr(mlirOperationGetName(op)); }

static int has_prefix(MlirOperation op, const char *prefix) {
  MlirStringRef n = op_name(op);
  return n.length >= strlen(prefix) && !memcmp(n.data, prefix, strlen(prefix));
}

static int count_uses(MlirValue v) {
  int n = 0;
  for (MlirOpOperand use = mlirValueGetFirstUse(v); !mlirOpOperandIsNull(use); use = mlirOpOperandGetNextUse(use)) n++;
  return n;
}

/* Lowers one operation of the old body into L's builder; 0 on failure. */
static int lower_op(Lowering *L, MlirOperation op) {
  Kernel *k = &L->k;
  k->b.location = mlirOperationGetLocation(op);
  intptr_t num_operands = mlirOperationGetNumOperands(op), num_results = mlirOperationGetNumResults(op);

  if (op_is(op, "tensor.empty")) {
    MlirValue r = mlirOperationGetResult(op, 0);
    bind(L, r, allocate(L, memref_of(mlirValueGetType(r))));
    return 1;
  }
  if (op_is(op, "arith.constant") && is_tensor(mlirOperationGetResult(op, 0))) {
    MlirValue r = mlirOperationGetResult(op, 0);
    MlirAttribute dense = mlirOperationGetAttributeByName(op, str("value"));
    MlirValue buffer = allocate(L, memref_of(mlirValueGetType(r)));
    fill(k, buffer, mlirTypeIsAF32(k->f) ? (double)mlirDenseElementsAttrGetFloatSplatValue(dense)
                                          : mlirDenseElementsAttrGetDoubleSplatValue(dense));
    bind(L, r, buffer);
    return 1;
  }
  if (has_prefix(op, "linalg.")) { /* ins(...) outs(init) -> result aliases init's buffer */
    MlirValue ins[8];
    for (intptr_t i = 0; i + 1 < num_operands; i++) {
      MlirValue x = mlirOperationGetOperand(op, i);
      ins[i] = is_tensor(x) ? buffer_of(L, x) : L->map.values[buffer_slot(&L->map, x)];
    }
    MlirValue init_tensor = mlirOperationGetOperand(op, num_operands - 1);
    MlirValue init = buffer_of(L, init_tensor);
    if (count_uses(init_tensor) > 1) { /* never write over a value someone else reads */
      MlirValue copy = allocate(L, mlirValueGetType(init));
      MlirValue operands[2] = {init, copy};
      build_op(&k->b, "memref.copy", 2, operands, 0, NULL, 0, NULL);
      init = copy;
    }
    char name[64];
    MlirStringRef n = op_name(op);
    snprintf(name, sizeof name, "%.*s", (int)n.length, n.data);
    build_linalg(&k->b, name, (int)num_operands - 1, ins, init);
    bind(L, mlirOperationGetResult(op, 0), init);
    return 1;
  }
  if (has_prefix(op, "perft.")) {
    MlirValue in[4], out[3];
    for (intptr_t i = 0; i < num_operands; i++) in[i] = buffer_of(L, mlirOperationGetOperand(op, i));
    for (intptr_t i = 0; i < num_results; i++) {
      MlirValue r = mlirOperationGetResult(op, i);
      out[i] = allocate(L, memref_of(mlirValueGetType(r)));
      bind(L, r, out[i]);
    }
    if (!lower_perft_op(k, op, in, out, allocate, L)) {
      mlirEmitError(mlirOperationGetLocation(op), "lower-perft: no lowering for this perft op");
      return 0;
    }
    return 1;
  }
  if (num_results == 1 && num_operands == 0 && !is_tensor(mlirOperationGetResult(op, 0))) {
    MlirOperation copy = mlirOperationClone(op); /* scalar constants */
    builder_insert(&k->b, copy);
    bind(L, mlirOperationGetResult(op, 0), mlirOperationGetResult(copy, 0));
    return 1;
  }
  mlirEmitError(mlirOperationGetLocation(op), "lower-perft: cannot lower this operation");
  return 0;
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

/* Rewrites one tensor function in place of the old one; 0 on failure. */
static int lower_function(MlirOperation func) {
  MlirContext context = mlirOperationGetContext(func);
  MlirBlock old_body = mlirRegionGetFirstBlock(mlirOperationGetRegion(func, 0));
  MlirOperation ret = mlirBlockGetTerminator(old_body);
  intptr_t num_args = mlirBlockGetNumArguments(old_body), num_results = mlirOperationGetNumOperands(ret);
  intptr_t total = num_args + num_results + 1;
  MlirType *types = calloc((size_t)total, sizeof(MlirType));
  MlirLocation *locs = calloc((size_t)total, sizeof(MlirLocation));
  MlirAttribute *arg_attrs = calloc((size_t)total, sizeof(MlirAttribute));
  MlirAttribute old_arg_attrs = mlirOperationGetAttributeByName(func, str("arg_attrs"));
  MlirAttribute old_res_attrs = mlirOperationGetAttributeByName(func, str("res_attrs"));
  MlirType float_type = mlirF32TypeGet(context);
  for (intptr_t i = 0; i < num_args; i++) {
    MlirValue a = mlirBlockGetArgument(old_body, i);
    types[i] = memref_of(mlirValueGetType(a));
    locs[i] = mlirOperationGetLocation(func);
    arg_attrs[i] = mlirAttributeIsNull(old_arg_attrs) ? mlirDictionaryAttrGet(context, 0, NULL)
                                                      : mlirArrayAttrGetElement(old_arg_attrs, i);
    MlirType element = mlirShapedTypeGetElementType(mlirValueGetType(a));
    if (mlirTypeIsAFloat(element)) float_type = element;
  }
  for (intptr_t i = 0; i < num_results; i++) {
    MlirType t = mlirValueGetType(mlirOperationGetOperand(ret, i));
    types[num_args + i] = memref_of(t);
    locs[num_args + i] = mlirOperationGetLocation(ret);
    arg_attrs[num_args + i] = mlirAttributeIsNull(old_res_attrs) ? mlirDictionaryAttrGet(context, 0, NULL)
                                                                 : result_attribute(context, old_res_attrs, i);
    if (mlirTypeIsAFloat(mlirShapedTypeGetElementType(t))) float_type = mlirShapedTypeGetElementType(t);
  }
  int64_t unknown = 0;
  types[total - 1] = mlirMemRefTypeContiguousGet(mlirIntegerTypeGet(context, 8), 1, &unknown, mlirAttributeGetNull());
  locs[total - 1] = mlirOperationGetLocation(func);
  MlirNamedAttribute ws = named_attribute(context, "perft.workspace", mlirUnitAttrGet(context));
  arg_attrs[total - 1] = mlirDictionaryAttrGet(context, 1, &ws);

  MlirBlock body = mlirBlockCreate(total, types, locs);
  Lowering L = {.k = {.b = {.context = context, .block = body, .anchor = null_operation(),
                            .location = mlirOperationGetLocation(func)},
                      .index = mlirIndexTypeGet(context), .f = float_type,
                      .i32 = mlirIntegerTypeGet(context, 32), .i1 = mlirIntegerTypeGet(context, 1)},
                .workspace = mlirBlockGetArgument(body, total - 1)};
  size_t num_ops = 0;
  for (MlirOperation op = mlirBlockGetFirstOperation(old_body); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op))
    num_ops++;
  L.map.capacity = 64;
  while (L.map.capacity < 16 * num_ops + 4 * (size_t)total) L.map.capacity *= 2;
  L.map.keys = calloc(L.map.capacity, sizeof(void *));
  L.map.values = calloc(L.map.capacity, sizeof(MlirValue));
  IR_CHECK(types && locs && arg_attrs && L.map.keys && L.map.values, "out of memory");
  for (intptr_t i = 0; i < num_args; i++) bind(&L, mlirBlockGetArgument(old_body, i), mlirBlockGetArgument(body, i));

  int ok = 1;
  for (MlirOperation op = mlirBlockGetFirstOperation(old_body); ok && !mlirOperationEqual(op, ret);
       op = mlirOperationGetNextInBlock(op))
    ok = lower_op(&L, op);
  if (ok) {
    L.k.b.location = mlirOperationGetLocation(ret);
    for (intptr_t i = 0; i < num_results; i++) {
      MlirValue operands[2] = {buffer_of(&L, mlirOperationGetOperand(ret, i)), mlirBlockGetArgument(body, num_args + i)};
      build_op(&L.k.b, "memref.copy", 2, operands, 0, NULL, 0, NULL);
    }
    build_op(&L.k.b, "func.return", 0, NULL, 0, NULL, 0, NULL);
    int64_t bytes = L.workspace_bytes > 0 ? L.workspace_bytes : 64;
    MlirType workspace_type = mlirMemRefTypeContiguousGet(mlirIntegerTypeGet(context, 8), 1, &bytes, mlirAttributeGetNull());
    mlirBlockArgumentSetType(L.workspace, workspace_type);
    types[total - 1] = workspace_type;

    /* Swap the new body in and fix the signature. */
    MlirRegion region = mlirOperationGetRegion(func, 0);
    mlirBlockDetach(old_body);
    mlirRegionAppendOwnedBlock(region, body);
    mlirBlockDestroy(old_body);
    mlirOperationSetAttributeByName(func, str("function_type"),
                                    mlirTypeAttrGet(mlirFunctionTypeGet(context, total, types, 0, NULL)));
    mlirOperationSetAttributeByName(func, str("arg_attrs"), mlirArrayAttrGet(context, total, arg_attrs));
    mlirOperationRemoveAttributeByName(func, str("res_attrs"));
    mlirOperationSetAttributeByName(func, str("perft.workspace_bytes"),
                                    mlirIntegerAttrGet(mlirIntegerTypeGet(context, 64), bytes));
  } else {
    mlirBlockDestroy(body);
  }
  free(types); free(locs); free(arg_attrs); free(L.map.keys); free(L.map.values);
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

static void lower_run(MlirOperation module, MlirExternalPass pass, void *user_data) {
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(module, 0));
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op)) {
    if (op_is(op, "func.func") && function_has_tensors(op) && !lower_function(op)) {
      mlirExternalPassSignalFailure(pass);
      return;
    }
  }
}

static MlirLogicalResult lower_initialize(MlirContext context, void *user_data) { return mlirLogicalResultSuccess(); }
static void lower_construct(void *user_data) {}
static void lower_destruct(void *user_data) {}
static void *lower_clone(void *user_data) { return user_data; }

MlirPass perft_create_lower_perft_pass(void) {
  static MlirTypeIDAllocator allocator;
  static MlirTypeID id;
  if (!allocator.ptr) {
    allocator = mlirTypeIDAllocatorCreate();
    id = mlirTypeIDAllocatorAllocateTypeID(allocator);
  }
  MlirExternalPassCallbacks callbacks = {lower_construct, lower_destruct, lower_initialize, lower_clone, lower_run};
  return mlirCreateExternalPass(id, str("PerftLowerPerft"), str("perft-lower"),
                                str("tensors to workspace memrefs; perft ops to scf loops"),
                                str("builtin.module"), 0, NULL, callbacks, NULL);
}
