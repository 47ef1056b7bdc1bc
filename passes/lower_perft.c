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
 *     scf.for ... { e[i, j] += x[i, k] · w[k, j] }       (the matmul, as loops)
 *     %s = memref.view %workspace[%c64][] ...
 *     scf.for %i = ... { ... silu as arith/math ... }
 *     ...
 *     memref.copy %l, %loss ; memref.copy %g, %dw
 *     return
 *   }
 *
 * Every tensor value becomes a memref: arguments stay arguments, results become
 * trailing output arguments, and each intermediate is a view of one workspace
 * buffer at a 64-byte aligned offset. A buffer is reused once the last op
 * reading its value has run (liveness over the straight-line body, first-fit
 * placement: workspace_plan.c); nothing is allocated at run time. GEMMs become
 * perft's blocked loop nests (matmul_kernels.c); other linalg ops keep their
 * names and switch to buffer form; perft ops become scf loops
 * (lower_perft_kernels.c); arith ops on scalars are cloned.
 */
#include "lower_perft_kernels.h"
#include "matmul_kernels.h"
#include "passes.h"
#include "external_pass.h"
#include "value_index.h"
#include "workspace_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  ValueIndex index;  /* the slot of each tensor value of the old body (value_index.c) ... */
  MlirValue *values; /* ... its memref */
  int *buffer;       /* ... its workspace buffer (-1: a function argument) */
  int *last_use;     /* ... the index of the last op that reads it (its definition if none) */
} BufferMap;

static size_t buffer_slot(BufferMap *map, MlirValue v) { return value_index_slot(&map->index, v); }

typedef struct {
  int64_t offset, bytes;
  int last_use, live;
} Buffer;

typedef struct {
  Kernel k;
  BufferMap map;
  MlirValue workspace;
  WorkspacePlan plan;
  Buffer *buffers;
  int num_buffers, buffer_capacity;
  int current_op; /* index of the op being lowered */
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

/* A view of `bytes` of the workspace that stays reserved until after op `last_use`. */
static MlirValue new_buffer(Lowering *L, MlirType memref_type, int last_use, int *id) {
  if (L->num_buffers == L->buffer_capacity) {
    L->buffer_capacity = L->buffer_capacity ? 2 * L->buffer_capacity : 64;
    L->buffers = realloc(L->buffers, (size_t)L->buffer_capacity * sizeof(Buffer));
    IR_CHECK(L->buffers != NULL, "out of memory");
  }
  int64_t bytes = bytes_of(memref_type);
  int64_t offset = workspace_allocate(&L->plan, bytes);
  L->buffers[L->num_buffers] = (Buffer){offset, bytes, last_use, 1};
  if (id) *id = L->num_buffers;
  L->num_buffers++;
  MlirValue operands[2] = {L->workspace, index_const(&L->k, offset)};
  return build_value(&L->k.b, "memref.view", 2, operands, memref_type, 0, NULL);
}

/* The ScratchAllocator of the kernels: free again right after the current op. */
static MlirValue allocate_scratch(void *context, MlirType memref_type) {
  Lowering *L = context;
  return new_buffer(L, memref_type, L->current_op, NULL);
}

/* Releases every buffer whose last reader was op `index`. */
static void release_dead_buffers(Lowering *L, int index) {
  for (int i = 0; i < L->num_buffers; i++) {
    Buffer *b = &L->buffers[i];
    if (b->live && b->last_use <= index) {
      workspace_release(&L->plan, b->offset, b->bytes);
      b->live = 0;
    }
  }
}

static MlirValue buffer_of(Lowering *L, MlirValue tensor) {
  MlirValue m = L->map.values[buffer_slot(&L->map, tensor)];
  IR_CHECK(!mlirValueIsNull(m), "lower-perft: a tensor without a buffer");
  return m;
}

static int last_use_of(Lowering *L, MlirValue v) { return L->map.last_use[buffer_slot(&L->map, v)]; }

static void bind(Lowering *L, MlirValue tensor, MlirValue memref, int buffer) {
  size_t i = buffer_slot(&L->map, tensor);
  L->map.values[i] = memref;
  L->map.buffer[i] = buffer;
  if (buffer >= 0 && L->buffers[buffer].last_use < L->map.last_use[i]) L->buffers[buffer].last_use = L->map.last_use[i];
}

/* A fresh buffer for a new tensor value, live until its last use. */
static MlirValue buffer_for(Lowering *L, MlirValue tensor) {
  int id;
  MlirValue m = new_buffer(L, memref_of(mlirValueGetType(tensor)), last_use_of(L, tensor), &id);
  bind(L, tensor, m, id);
  return m;
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
    buffer_for(L, mlirOperationGetResult(op, 0));
    return 1;
  }
  if (op_is(op, "arith.constant") && is_tensor(mlirOperationGetResult(op, 0))) {
    MlirValue r = mlirOperationGetResult(op, 0);
    MlirAttribute dense = mlirOperationGetAttributeByName(op, str("value"));
    MlirValue buffer = buffer_for(L, r);
    fill(k, buffer, mlirTypeIsAF32(k->f) ? (double)mlirDenseElementsAttrGetFloatSplatValue(dense)
                                          : mlirDenseElementsAttrGetDoubleSplatValue(dense));
    return 1;
  }
  if (has_prefix(op, "linalg.")) { /* ins(...) outs(init) -> result aliases init's buffer */
    MlirValue ins[8];
    for (intptr_t i = 0; i + 1 < num_operands; i++) {
      MlirValue x = mlirOperationGetOperand(op, i);
      ins[i] = is_tensor(x) ? buffer_of(L, x) : L->map.values[buffer_slot(&L->map, x)];
    }
    MlirValue init_tensor = mlirOperationGetOperand(op, num_operands - 1);
    MlirValue result = mlirOperationGetResult(op, 0);
    MlirValue init = buffer_of(L, init_tensor);
    int buffer = L->map.buffer[buffer_slot(&L->map, init_tensor)];
    if (count_uses(init_tensor) > 1 || buffer < 0) { /* never write over a value someone else reads */
      MlirValue copy = new_buffer(L, mlirValueGetType(init), last_use_of(L, result), &buffer);
      MlirValue operands[2] = {init, copy};
      build_op(&k->b, "memref.copy", 2, operands, 0, NULL, 0, NULL);
      init = copy;
    }
    char name[64];
    MlirStringRef n = op_name(op);
    snprintf(name, sizeof name, "%.*s", (int)n.length, n.data);
    /* GEMMs get perft's blocked loop nests; the rest stays linalg, lowered upstream. */
    int is_matmul = !strcmp(name, "linalg.matmul") || !strcmp(name, "linalg.matmul_transpose_a") ||
                    !strcmp(name, "linalg.matmul_transpose_b");
    if (!is_matmul || !matmul_dense(k, ins[0], ins[1], init, !strcmp(name, "linalg.matmul_transpose_a"),
                                    !strcmp(name, "linalg.matmul_transpose_b")))
      build_linalg(&k->b, name, (int)num_operands - 1, ins, init);
    bind(L, result, init, buffer); /* the result is the init's buffer, written in place */
    return 1;
  }
  if (has_prefix(op, "perft.")) {
    MlirValue in[4], out[3];
    for (intptr_t i = 0; i < num_operands; i++) in[i] = buffer_of(L, mlirOperationGetOperand(op, i));
    for (intptr_t i = 0; i < num_results; i++) out[i] = buffer_for(L, mlirOperationGetResult(op, i));
    if (!lower_perft_op(k, op, in, out, allocate_scratch, L)) {
      mlirEmitError(mlirOperationGetLocation(op), "lower-perft: no lowering for this perft op");
      return 0;
    }
    return 1;
  }
  if (num_results == 1 && num_operands == 0 && !is_tensor(mlirOperationGetResult(op, 0))) {
    MlirOperation copy = mlirOperationClone(op); /* scalar constants */
    builder_insert(&k->b, copy);
    bind(L, mlirOperationGetResult(op, 0), mlirOperationGetResult(copy, 0), -1);
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
static int lower_function(MlirOperation func, const LowerPerftOptions *options) {
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
                      .i32 = mlirIntegerTypeGet(context, 32), .i1 = mlirIntegerTypeGet(context, 1),
                      .parallel = options->parallel, .parallel_min_work = options->parallel_min_work},
                .workspace = mlirBlockGetArgument(body, total - 1)};
  size_t num_values = (size_t)num_args;
  for (MlirOperation op = mlirBlockGetFirstOperation(old_body); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op))
    num_values += (size_t)mlirOperationGetNumResults(op);
  value_index_init(&L.map.index, num_values);
  L.map.values = calloc(L.map.index.capacity, sizeof(MlirValue));
  L.map.buffer = calloc(L.map.index.capacity, sizeof(int));
  L.map.last_use = calloc(L.map.index.capacity, sizeof(int));
  IR_CHECK(types && locs && arg_attrs && L.map.values && L.map.buffer && L.map.last_use, "out of memory");
  workspace_plan_init(&L.plan, options->reuse_workspace);

  /* Liveness: the index of the last op reading each value (returned values live to the end). */
  int index = 0;
  for (MlirOperation op = mlirBlockGetFirstOperation(old_body); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op), index++) {
    for (intptr_t i = 0; i < mlirOperationGetNumResults(op); i++)
      L.map.last_use[buffer_slot(&L.map, mlirOperationGetResult(op, i))] = index;
    for (intptr_t i = 0; i < mlirOperationGetNumOperands(op); i++)
      L.map.last_use[buffer_slot(&L.map, mlirOperationGetOperand(op, i))] = index;
  }
  for (intptr_t i = 0; i < num_args; i++) bind(&L, mlirBlockGetArgument(old_body, i), mlirBlockGetArgument(body, i), -1);

  int ok = 1;
  index = 0;
  for (MlirOperation op = mlirBlockGetFirstOperation(old_body); ok && !mlirOperationEqual(op, ret);
       op = mlirOperationGetNextInBlock(op), index++) {
    L.current_op = index;
    ok = lower_op(&L, op);
    release_dead_buffers(&L, index);
  }
  if (ok) {
    L.k.b.location = mlirOperationGetLocation(ret);
    for (intptr_t i = 0; i < num_results; i++) {
      MlirValue operands[2] = {buffer_of(&L, mlirOperationGetOperand(ret, i)), mlirBlockGetArgument(body, num_args + i)};
      build_op(&L.k.b, "memref.copy", 2, operands, 0, NULL, 0, NULL);
    }
    build_op(&L.k.b, "func.return", 0, NULL, 0, NULL, 0, NULL);
    int64_t bytes = L.plan.end > 0 ? L.plan.end : 64;
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
  free(types); free(locs); free(arg_attrs); value_index_free(&L.map.index); free(L.map.values); free(L.map.buffer);
  free(L.map.last_use); free(L.buffers);
  workspace_plan_free_all(&L.plan);
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

static void lower_run(MlirOperation module, MlirExternalPass pass, void *options) {
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(module, 0));
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op)) {
    if (op_is(op, "func.func") && function_has_tensors(op) && !lower_function(op, options)) {
      mlirExternalPassSignalFailure(pass);
      return;
    }
  }
}

MlirPass perft_create_lower_perft_pass(LowerPerftOptions options) {
  return perft_module_pass("PerftLowerPerft", "perft-lower", "tensors to workspace memrefs; perft ops to scf loops",
                           lower_run, &options, sizeof options);
}
