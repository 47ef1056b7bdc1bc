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
 * the GEMM microkernels' vector.fma blocks; 0: scalar loops only).
 */
#include "passes.h"
#include "external_pass.h"
#include "op_table.h"

#include <stdlib.h>

static MlirType function_float_type(MlirContext context, MlirBlock body) {
  for (intptr_t i = 0; i < mlirBlockGetNumArguments(body); i++) {
    MlirType t = mlirValueGetType(mlirBlockGetArgument(body, i));
    if (mlirTypeIsAMemRef(t) && mlirTypeIsAFloat(mlirShapedTypeGetElementType(t))) return mlirShapedTypeGetElementType(t);
  }
  return mlirF32TypeGet(context);
}

/* Emits the kernels of one function; 0 on failure (diagnosed). */
static int emit_function(MlirOperation func, const EmitKernelsOptions *options) {
  MlirContext context = mlirOperationGetContext(func);
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(func, 0));
  if (mlirBlockIsNull(body)) return 1;
  Kernel k = {.b = {.context = context, .block = body},
              .index = mlirIndexTypeGet(context), .f = function_float_type(context, body),
              .i32 = mlirIntegerTypeGet(context, 32), .i1 = mlirIntegerTypeGet(context, 1),
              .parallel = options->parallel, .parallel_min_work = options->parallel_min_work,
              .vector_bytes = options->vector_bytes};
  for (MlirOperation op = mlirBlockGetFirstOperation(body), next; !mlirOperationIsNull(op); op = next) {
    next = mlirOperationGetNextInBlock(op);
    const OpInfo *info = op_info_of(op);
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
    k.b.anchor = op;
    k.b.location = mlirOperationGetLocation(op);
    if (info->kernel[options->target](&k, op, buffers)) mlirOperationDestroy(op);
  }
  return 1;
}

static void emit_run(MlirOperation module, MlirExternalPass pass, void *options) {
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(module, 0));
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op))
    if (op_is(op, "func.func") && !emit_function(op, options)) {
      mlirExternalPassSignalFailure(pass);
      return;
    }
}

MlirPass perft_create_emit_kernels_pass(EmitKernelsOptions options) {
  return perft_module_pass("PerftEmitKernels", "perft-emit-kernels",
                           "every op in buffer form becomes the kernel of the chosen target",
                           emit_run, &options, sizeof options);
}
