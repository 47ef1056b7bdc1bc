/* gpu_one_module.c — the perft-gpu-one-module pass: every GPU kernel in one gpu.module.
 *
 * Before (gpu-kernel-outlining makes a module for each launch):
 *   gpu.module @perft_kernel_0_embedding_kernel { gpu.func @perft_kernel_0_embedding_kernel(...) kernel {...} }
 *   gpu.module @perft_kernel_1_rmsnorm_kernel { gpu.func @perft_kernel_1_rmsnorm_kernel(...) kernel {...} }
 *   gpu.launch_func @perft_kernel_1_rmsnorm_kernel::@perft_kernel_1_rmsnorm_kernel ...
 * After:
 *   gpu.module @perft_kernels { gpu.func @perft_kernel_0_embedding_kernel ... gpu.func @perft_kernel_1_rmsnorm_kernel ... }
 *   gpu.launch_func @perft_kernels::@perft_kernel_1_rmsnorm_kernel ...
 * One module is one PTX file, one ptxas run, one fatbin in the executable and one cuModuleLoadData at
 * start-up (instead of one for each kernel). Each kernel takes its old module's name, which is
 * unique (the outliner names a second launch of one function @f_kernel_0, but its function may
 * again be @f_kernel).
 */
#include "passes.h"
#include "external_pass.h"
#include "ir_builder.h"

#include <stdlib.h>

typedef struct {
  MlirOperation *ops;
  int count, capacity;
} OpArray;

static void push(OpArray *a, MlirOperation op) {
  if (a->count == a->capacity) {
    a->capacity = 2 * a->capacity + 32;
    a->ops = realloc(a->ops, (size_t)a->capacity * sizeof *a->ops);
    IR_CHECK(a->ops != NULL, "perft-gpu-one-module: out of memory");
  }
  a->ops[a->count++] = op;
}

static MlirWalkResult collect_launches(MlirOperation op, void *data) {
  if (op_is(op, "gpu.launch_func")) push(data, op);
  return op_is(op, "gpu.module") ? MlirWalkResultSkip : MlirWalkResultAdvance;
}

static void one_module_run(MlirOperation module, MlirExternalPass pass, void *options) {
  (void)pass, (void)options;
  MlirContext context = mlirOperationGetContext(module);
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(module, 0));
  OpArray gpu_modules = {0}, launches = {0};
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op))
    if (op_is(op, "gpu.module")) push(&gpu_modules, op);
  if (gpu_modules.count == 0) return;
  /* each module's one kernel takes the module's name */
  for (int m = 0; m < gpu_modules.count; m++) {
    MlirBlock from = mlirRegionGetFirstBlock(mlirOperationGetRegion(gpu_modules.ops[m], 0));
    int kernels = 0;
    for (MlirOperation op = mlirBlockGetFirstOperation(from); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op))
      if (op_is(op, "gpu.func")) {
        mlirOperationSetAttributeByName(op, str("sym_name"), mlirOperationGetAttributeByName(gpu_modules.ops[m], str("sym_name")));
        kernels++;
      }
    IR_CHECK(kernels == 1, "perft-gpu-one-module: a gpu.module without exactly one kernel");
  }
  mlirOperationWalk(module, collect_launches, &launches, MlirWalkPreOrder);
  for (int i = 0; i < launches.count; i++) { /* @module::@kernel -> @perft_kernels::@module */
    MlirAttribute kernel = mlirOperationGetAttributeByName(launches.ops[i], str("kernel"));
    MlirAttribute leaf = mlirFlatSymbolRefAttrGet(context, mlirSymbolRefAttrGetRootReference(kernel));
    mlirOperationSetAttributeByName(launches.ops[i], str("kernel"),
                                    mlirSymbolRefAttrGet(context, str("perft_kernels"), 1, &leaf));
  }
  MlirOperation kept = gpu_modules.ops[0];
  mlirOperationSetAttributeByName(kept, str("sym_name"), mlirStringAttrGet(context, str("perft_kernels")));
  MlirBlock kept_body = mlirRegionGetFirstBlock(mlirOperationGetRegion(kept, 0));
  MlirOperation kept_end = mlirBlockGetTerminator(kept_body);
  for (int m = 1; m < gpu_modules.count; m++) {
    MlirBlock from = mlirRegionGetFirstBlock(mlirOperationGetRegion(gpu_modules.ops[m], 0));
    MlirOperation end = mlirBlockGetTerminator(from);
    for (MlirOperation op = mlirBlockGetFirstOperation(from), next; !mlirOperationIsNull(op); op = next) {
      next = mlirOperationGetNextInBlock(op);
      if (!mlirOperationEqual(op, end)) mlirOperationMoveBefore(op, kept_end);
    }
    mlirOperationDestroy(gpu_modules.ops[m]);
  }
  free(gpu_modules.ops);
  free(launches.ops);
}

MlirPass perft_create_gpu_one_module_pass(void) {
  return perft_module_pass("PerftGpuOneModule", "perft-gpu-one-module",
                           "every GPU kernel in one gpu.module (one PTX, one fatbin, one module load)",
                           one_module_run, NULL, 0);
}
