/* plan_workspace.c — the perft-plan-workspace pass: every buffer gets its place in one workspace.
 *
 * Before (perft-bufferize's output):
 *   func.func @train_step(%x: memref<4x3xf32>, %out: memref<4x3xf32> {perft.result = "output y"}) {
 *     %0 = memref.alloc() : memref<4x3xf32>
 *     "perft_buffer.softmax"(%x, %0) : (memref<4x3xf32>, memref<4x3xf32>) -> ()
 *     %1 = memref.alloc() : memref<4x3xf32>
 *     linalg.add ins(%0, %x : ...) outs(%1 : memref<4x3xf32>)
 *     memref.dealloc %0 : memref<4x3xf32>
 *     memref.copy %1, %out : ...
 *     memref.dealloc %1 : memref<4x3xf32>
 *     return
 *   }
 * After:
 *   func.func @train_step(%x: ..., %out: ..., %workspace: memref<128xi8> {perft.workspace})
 *       attributes {perft.workspace_bytes = 128 : i64} {
 *     %c0 = arith.constant 0 : index
 *     %0 = memref.view %workspace[%c0][] : memref<128xi8> to memref<4x3xf32>
 *     "perft_buffer.softmax"(%x, %0) : ...
 *     %c64 = arith.constant 64 : index
 *     %1 = memref.view %workspace[%c64][] : memref<128xi8> to memref<4x3xf32>
 *     ...
 *   }
 *
 * Allocations are placed first-fit at 64-byte aligned offsets (workspace_plan.c); a range
 * freed by a dealloc is reused by later allocations, so the workspace is the peak of what
 * is live at once. With reuse=0 every buffer keeps its own range (for comparison). The
 * generated code allocates nothing at run time: the runtime passes the workspace in.
 */
#include "passes.h"
#include "external_pass.h"
#include "ir_builder.h"
#include "value_index.h"
#include "workspace_plan.h"

#include <stdlib.h>

typedef struct {
  int reuse;
} PlanOptions;

static int64_t bytes_of(MlirType memref) {
  MlirType element = mlirShapedTypeGetElementType(memref);
  int64_t width = mlirTypeIsAF64(element) ? 8 : 4;
  return shaped_num_elements(memref) * width;
}

static int has_workspace(MlirOperation func) {
  return !mlirAttributeIsNull(mlirOperationGetAttributeByName(func, str("perft.workspace_bytes")));
}

static int is_buffer_function(MlirBlock body) {
  for (intptr_t i = 0; i < mlirBlockGetNumArguments(body); i++)
    if (mlirTypeIsARankedTensor(mlirValueGetType(mlirBlockGetArgument(body, i)))) return 0;
  return mlirOperationGetNumOperands(mlirBlockGetTerminator(body)) == 0;
}

static void plan_function(MlirOperation func, const PlanOptions *options) {
  MlirContext context = mlirOperationGetContext(func);
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(func, 0));
  int64_t unknown = 0;
  MlirType i8 = mlirIntegerTypeGet(context, 8);
  MlirValue workspace = mlirBlockAddArgument(
      body, mlirMemRefTypeContiguousGet(i8, 1, &unknown, mlirAttributeGetNull()), mlirOperationGetLocation(func));

  size_t num_ops = 0;
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op))
    num_ops++;
  ValueIndex index;
  value_index_init(&index, num_ops);
  int64_t *offsets = calloc(index.capacity, sizeof(int64_t));
  IR_CHECK(offsets != NULL, "out of memory");
  WorkspacePlan plan;
  workspace_plan_init(&plan, options->reuse);

  Builder b = {.context = context, .block = body};
  MlirType index_type = mlirIndexTypeGet(context);
  for (MlirOperation op = mlirBlockGetFirstOperation(body), next; !mlirOperationIsNull(op); op = next) {
    next = mlirOperationGetNextInBlock(op);
    if (op_is(op, "memref.alloc")) {
      MlirValue old = mlirOperationGetResult(op, 0);
      MlirType type = mlirValueGetType(old);
      int64_t offset = workspace_allocate(&plan, bytes_of(type));
      b.anchor = op;
      b.location = mlirOperationGetLocation(op);
      MlirNamedAttribute value = named_attribute(context, "value", mlirIntegerAttrGet(index_type, offset));
      MlirValue at = build_value(&b, "arith.constant", 0, NULL, index_type, 1, &value);
      MlirValue view = build_value(&b, "memref.view", 2, (MlirValue[]){workspace, at}, type, 0, NULL);
      offsets[value_index_slot(&index, view)] = offset;
      mlirValueReplaceAllUsesOfWith(old, view);
      mlirOperationDestroy(op);
    } else if (op_is(op, "memref.dealloc")) {
      MlirValue view = mlirOperationGetOperand(op, 0);
      workspace_release(&plan, offsets[value_index_slot(&index, view)], bytes_of(mlirValueGetType(view)));
      mlirOperationDestroy(op);
    }
  }
  int64_t bytes = plan.end > 0 ? plan.end : 64;
  MlirType workspace_type = mlirMemRefTypeContiguousGet(i8, 1, &bytes, mlirAttributeGetNull());
  mlirBlockArgumentSetType(workspace, workspace_type);

  intptr_t num_args = mlirBlockGetNumArguments(body);
  MlirType *types = calloc((size_t)num_args, sizeof(MlirType));
  MlirAttribute *arg_attrs = calloc((size_t)num_args, sizeof(MlirAttribute));
  IR_CHECK(types && arg_attrs, "out of memory");
  MlirAttribute old_arg_attrs = mlirOperationGetAttributeByName(func, str("arg_attrs"));
  for (intptr_t i = 0; i < num_args; i++) {
    types[i] = mlirValueGetType(mlirBlockGetArgument(body, i));
    arg_attrs[i] = i + 1 < num_args && !mlirAttributeIsNull(old_arg_attrs) ? mlirArrayAttrGetElement(old_arg_attrs, i)
                                                                            : mlirDictionaryAttrGet(context, 0, NULL);
  }
  MlirNamedAttribute marker = named_attribute(context, "perft.workspace", mlirUnitAttrGet(context));
  arg_attrs[num_args - 1] = mlirDictionaryAttrGet(context, 1, &marker);
  mlirOperationSetAttributeByName(func, str("function_type"),
                                  mlirTypeAttrGet(mlirFunctionTypeGet(context, num_args, types, 0, NULL)));
  mlirOperationSetAttributeByName(func, str("arg_attrs"), mlirArrayAttrGet(context, num_args, arg_attrs));
  mlirOperationSetAttributeByName(func, str("perft.workspace_bytes"),
                                  mlirIntegerAttrGet(mlirIntegerTypeGet(context, 64), bytes));
  free(types); free(arg_attrs); free(offsets);
  value_index_free(&index);
  workspace_plan_free_all(&plan);
}

static void plan_run(MlirOperation module, MlirExternalPass pass, void *options) {
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(module, 0));
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op)) {
    if (!op_is(op, "func.func") || has_workspace(op)) continue;
    MlirBlock fbody = mlirRegionGetFirstBlock(mlirOperationGetRegion(op, 0));
    if (!mlirBlockIsNull(fbody) && is_buffer_function(fbody)) plan_function(op, options);
  }
}

MlirPass perft_create_plan_workspace_pass(int reuse) {
  PlanOptions options = {reuse};
  return perft_module_pass("PerftPlanWorkspace", "perft-plan-workspace",
                           "place every buffer in one workspace, reusing freed ranges",
                           plan_run, &options, sizeof options);
}
