/* report.c — see report.h.
 *
 * FLOPs count GEMMs only, as PERFORMANCE.md does, from each op's table entry
 * (op_table.c): a matmul C[M,N] = A·B over K is 2·M·N·K; a grouped matmul over R
 * dispatched rows is 2·R·N·K (each row meets one expert). Backward = @train_step −
 * @forward. Per token = / tokens.
 */
#include "report.h"

#include "ir_builder.h"
#include "op_table.h"
#include "passes.h"

#include <string.h>

static double function_flops(MlirOperation func) {
  double total = 0;
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(func, 0));
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op)) {
    const OpInfo *info = op_info_of(op);
    if (info && info->flops) total += info->flops(op);
  }
  return total;
}

static const char *with_commas(double v, char *buffer) {
  char digits[64];
  snprintf(digits, sizeof digits, "%.0f", v);
  size_t n = strlen(digits), j = 0;
  for (size_t i = 0; i < n; i++) {
    buffer[j++] = digits[i];
    if (i + 1 < n && (n - i - 1) % 3 == 0) buffer[j++] = ',';
  }
  buffer[j] = 0;
  return buffer;
}

int report_print(MlirModule module, const char *title, FILE *out) {
  MlirOperation module_op = mlirModuleGetOperation(module);
  MlirOperation forward = perft_find_function(module_op, "forward");
  MlirOperation step = perft_find_function(module_op, "train_step");
  if (mlirOperationIsNull(forward) || mlirOperationIsNull(step)) return 0;

  double base_frozen = 0, base_trainable = 0, adapter_frozen = 0, adapter_trainable = 0;
  MlirAttribute args = mlirOperationGetAttributeByName(forward, str("arg_attrs"));
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(forward, 0));
  for (intptr_t i = 0; i < mlirBlockGetNumArguments(body); i++) {
    MlirAttribute d = mlirArrayAttrGetElement(args, i);
    if (mlirAttributeIsNull(mlirDictionaryAttrGetElementByName(d, str("perft.param")))) continue;
    double n = (double)shaped_num_elements(mlirValueGetType(mlirBlockGetArgument(body, i)));
    MlirAttribute t = mlirDictionaryAttrGetElementByName(d, str("perft.trainable"));
    int trainable = !mlirAttributeIsNull(t) && mlirBoolAttrGetValue(t);
    int adapter = !mlirAttributeIsNull(mlirDictionaryAttrGetElementByName(d, str("perft.adapter")));
    *(adapter ? (trainable ? &adapter_trainable : &adapter_frozen) : (trainable ? &base_trainable : &base_frozen)) += n;
  }
  double base = base_frozen + base_trainable, trainable = base_trainable + adapter_trainable;
  MlirAttribute tokens_attr = mlirOperationGetAttributeByName(module_op, str("perft.tokens"));
  double tokens = mlirAttributeIsNull(tokens_attr) ? 1.0 : (double)mlirIntegerAttrGetValueInt(tokens_attr);
  double forward_flops = function_flops(forward), backward_flops = function_flops(step) - forward_flops;

  char a[64], b[64], c[64];
  fprintf(out, "perft report: %s\n", title);
  fprintf(out, "parameters\n");
  fprintf(out, "  base model        %s (frozen %s, trainable %s)\n", with_commas(base, a), with_commas(base_frozen, b),
          with_commas(base_trainable, c));
  fprintf(out, "  adapters          %s\n", with_commas(adapter_frozen + adapter_trainable, a));
  fprintf(out, "  trainable         %s (%.4f%% of the base)\n", with_commas(trainable, a),
          base > 0 ? 100.0 * trainable / base : 0.0);
  fprintf(out, "GEMM FLOPs per token (%.0f tokens per step)\n", tokens);
  fprintf(out, "  forward           %s\n", with_commas(forward_flops / tokens, a));
  fprintf(out, "  backward          %s\n", with_commas(backward_flops / tokens, a));
  fprintf(out, "kernels of @train_step (one per op; no fusion yet)\n");

  /* Count op kinds in the order they first appear. */
  enum { MAX_KINDS = 64 };
  MlirStringRef names[MAX_KINDS];
  int counts[MAX_KINDS], kinds = 0;
  MlirBlock step_body = mlirRegionGetFirstBlock(mlirOperationGetRegion(step, 0));
  for (MlirOperation op = mlirBlockGetFirstOperation(step_body); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op)) {
    MlirStringRef n = mlirIdentifierStr(mlirOperationGetName(op));
    if (op_is(op, "tensor.empty") || op_is(op, "arith.constant") || op_is(op, "func.return")) continue;
    int j = 0;
    while (j < kinds && !(names[j].length == n.length && !memcmp(names[j].data, n.data, n.length))) j++;
    if (j == kinds && kinds < MAX_KINDS) { names[kinds] = n; counts[kinds++] = 0; }
    if (j < kinds) counts[j]++;
  }
  for (int j = 0; j < kinds; j++) fprintf(out, "  %-34.*s x%d\n", (int)names[j].length, names[j].data, counts[j]);
  return 1;
}
