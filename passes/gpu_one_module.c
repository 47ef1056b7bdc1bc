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

static void one_module_run(MlirOperation module, MlirExternalPass pass, void *options) {
  (void)pass, (void)options;
  MlirContext context = mlirOperationGetContext(module);
  static const char *const gpu_module[] = {"gpu.module", NULL}, *const launch_func[] = {"gpu.launch_func", NULL};
  size_t num_modules, num_launches;
  MlirOperation *modules = ops_named(module, gpu_module, &num_modules);
  if (num_modules == 0) {
    free(modules);
    return;
  }
  /* each module's one kernel takes the module's name */
  for (size_t m = 0; m < num_modules; m++) {
    MlirBlock from = mlirRegionGetFirstBlock(mlirOperationGetRegion(modules[m], 0));
    int kernels = 0;
    for (MlirOperation op = mlirBlockGetFirstOperation(from); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op))
      if (op_is(op, "gpu.func")) {
        mlirOperationSetAttributeByName(op, str("sym_name"), mlirOperationGetAttributeByName(modules[m], str("sym_name")));
        kernels++;
      }
    IR_CHECK(kernels == 1, "perft-gpu-one-module: a gpu.module without exactly one kernel");
  }
  MlirOperation *launches = ops_named(module, launch_func, &num_launches);
  for (size_t i = 0; i < num_launches; i++) { /* @module::@kernel -> @perft_kernels::@module */
    MlirAttribute kernel = mlirOperationGetAttributeByName(launches[i], str("kernel"));
    MlirAttribute leaf = mlirFlatSymbolRefAttrGet(context, mlirSymbolRefAttrGetRootReference(kernel));
    mlirOperationSetAttributeByName(launches[i], str("kernel"),
                                    mlirSymbolRefAttrGet(context, str("perft_kernels"), 1, &leaf));
  }
  MlirOperation kept = modules[0];
  mlirOperationSetAttributeByName(kept, str("sym_name"), mlirStringAttrGet(context, str("perft_kernels")));
  MlirBlock kept_body = mlirRegionGetFirstBlock(mlirOperationGetRegion(kept, 0));
  MlirOperation kept_end = mlirBlockGetTerminator(kept_body);
  for (size_t m = 1; m < num_modules; m++) {
    MlirBlock from = mlirRegionGetFirstBlock(mlirOperationGetRegion(modules[m], 0));
    MlirOperation end = mlirBlockGetTerminator(from);
    for (MlirOperation op = mlirBlockGetFirstOperation(from), next; !mlirOperationIsNull(op); op = next) {
      next = mlirOperationGetNextInBlock(op);
      if (!mlirOperationEqual(op, end)) mlirOperationMoveBefore(op, kept_end);
    }
    mlirOperationDestroy(modules[m]);
  }
  free(modules);
  free(launches);
}

MlirPass perft_create_gpu_one_module_pass(void) {
  return perft_module_pass("PerftGpuOneModule", "perft-gpu-one-module",
                           "every GPU kernel in one gpu.module (one PTX, one fatbin, one module load)",
                           one_module_run, NULL, 0);
}
